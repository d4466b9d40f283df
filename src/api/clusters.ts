// Cluster administration (/2/clusters, root-scoped, user token). The runner's own view of its
// cluster (cluster token) is RunnerApi.getCluster in runner.ts.
import { IronError } from '../errors.js';
import type { HttpClient } from './http.js';
import type { CallOptions } from './project.js';
import type { ClusterInfo, ClusterInstanceInfo, ClusterSpec, ClusterStats, MsgResponse } from './types.js';

const seg = encodeURIComponent;

/** Servers answer either `{cluster:{...}}` (documented) or the bare object; accept both. */
export function unwrapCluster(res: unknown, what: string): ClusterInfo {
  const inner = (res as { cluster?: unknown } | null)?.cluster ?? res;
  const c = inner as Partial<ClusterInfo> | null;
  if (c === null || typeof c !== 'object' || typeof c.id !== 'string') {
    throw new IronError('ERR_API_RESPONSE', `the API's answer to ${what} has no cluster id`);
  }
  return { ...c, id: c.id, name: typeof c.name === 'string' ? c.name : '' };
}

export class ClustersApi {
  constructor(private readonly http: HttpClient) {}

  private retry(o: CallOptions | undefined): CallOptions {
    return o?.retry === undefined ? {} : { retry: o.retry };
  }

  async list(signal: AbortSignal, o?: CallOptions): Promise<ClusterInfo[]> {
    const res = await this.http.json<{ clusters?: ClusterInfo[] }>({ method: 'GET', path: '/2/clusters', ...this.retry(o) }, signal);
    return res.clusters ?? [];
  }

  async get(id: string, signal: AbortSignal, o?: CallOptions): Promise<ClusterInfo> {
    return unwrapCluster(await this.http.json({ method: 'GET', path: `/2/clusters/${seg(id)}`, ...this.retry(o) }, signal), 'get cluster');
  }

  /** Sends both `disk` (docs, node client) and `disk_space` (iron_go3) so either server reads it. */
  async create(spec: ClusterSpec, signal: AbortSignal, o?: CallOptions): Promise<ClusterInfo> {
    const json: Record<string, unknown> = { name: spec.name };
    if (spec.memory !== undefined) json.memory = spec.memory;
    if (spec.disk !== undefined) {
      json.disk = spec.disk;
      json.disk_space = spec.disk;
    }
    if (spec.cpu_share !== undefined) json.cpu_share = spec.cpu_share;
    const res = await this.http.json({ method: 'POST', path: '/2/clusters', json, idempotent: false, ...this.retry(o) }, signal);
    return unwrapCluster(res, 'create cluster');
  }

  update(id: string, changes: Partial<ClusterSpec> & Record<string, unknown>, signal: AbortSignal, o?: CallOptions): Promise<MsgResponse> {
    return this.http.json<MsgResponse>({ method: 'PUT', path: `/2/clusters/${seg(id)}`, json: changes, ...this.retry(o) }, signal);
  }

  delete(id: string, signal: AbortSignal, o?: CallOptions): Promise<MsgResponse> {
    return this.http.json<MsgResponse>({ method: 'DELETE', path: `/2/clusters/${seg(id)}`, json: {}, ...this.retry(o) }, signal);
  }

  /** The cluster's runner token: `{token}` (iron_go3) or `{cluster:{tokens:[...]}}` (docs). */
  async credentials(id: string, signal: AbortSignal, o?: CallOptions): Promise<string> {
    const res = await this.http.json<{ token?: unknown; cluster?: { tokens?: unknown } }>(
      {
        method: 'GET',
        path: `/2/clusters/${seg(id)}/credentials`,
        ...this.retry(o),
      },
      signal,
    );
    if (typeof res.token === 'string') return res.token;
    const tokens = res.cluster?.tokens;
    if (Array.isArray(tokens) && typeof tokens[0] === 'string') return tokens[0];
    throw new IronError('ERR_API_RESPONSE', 'the API did not return a cluster token');
  }

  /** The cluster's queue and runner instances (`instances` is always a list). */
  async stats(id: string, signal: AbortSignal, o?: CallOptions): Promise<ClusterStats> {
    const res = await this.http.json<{ cluster?: Record<string, unknown> }>({ method: 'GET', path: `/2/clusters/${seg(id)}/stats`, ...this.retry(o) }, signal);
    const c = res.cluster ?? {};
    const instances = Array.isArray(c['instances'])
      ? (c['instances'] as unknown[]).filter((i): i is ClusterInstanceInfo => typeof i === 'object' && i !== null && typeof (i as { instance_id?: unknown }).instance_id === 'string')
      : [];
    return { ...c, instances };
  }
}
