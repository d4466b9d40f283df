// Creating projects, tokens and clusters outside the HTTP API: the first-start bootstrap, the
// `iron-api token create` / `cluster create` subcommands, and tests.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerConfig } from '../config/server.js';
import { IronError } from '../errors.js';
import { hashToken } from './auth.js';
import { newToken } from './ids.js';
import type { Store } from './store/ports.js';

export interface Bootstrap {
  projectId: string;
  projectToken: string;
  clusterId: string;
  clusterToken: string;
}

/**
 * Admin calls are one-shot local transactions (the bootstrap, the offline subcommands, tests):
 * nothing ends them early.
 */
const UNBOUNDED = new AbortController().signal;

export class Admin {
  constructor(
    private readonly store: Store,
    private readonly config: ServerConfig,
    private readonly signal: AbortSignal = UNBOUNDED,
  ) {}

  async createProject(name: string): Promise<{ projectId: string; token: string }> {
    const now = Date.now();
    const p = await this.store.accounts.createProject(name, now, this.signal);
    return { projectId: p.id, token: await this.projectToken(p.id) };
  }

  /** An additional token for an existing project. */
  async projectToken(projectId: string): Promise<string> {
    if ((await this.store.accounts.getProject(projectId, this.signal)) === undefined) {
      throw new IronError('ERR_INVALID_ARGUMENT', `project ${projectId} does not exist`);
    }
    const token = newToken();
    await this.store.accounts.addToken(hashToken(token), { kind: 'project', projectId }, Date.now(), this.signal);
    return token;
  }

  async createCluster(projectId: string, name: string, isDefault = false): Promise<{ clusterId: string; token: string }> {
    if ((await this.store.accounts.getProject(projectId, this.signal)) === undefined) {
      throw new IronError('ERR_INVALID_ARGUMENT', `project ${projectId} does not exist`);
    }
    const now = Date.now();
    const c = await this.store.clusters.createCluster(
      {
        name,
        ownerProjectId: projectId,
        memory: this.config.clusterMemory,
        diskSpace: this.config.clusterDisk,
        cpuShare: null,
        autoscale: {},
        isDefault,
      },
      now,
      this.signal,
    );
    const token = newToken();
    await this.store.accounts.addToken(hashToken(token), { kind: 'cluster', clusterId: c.id }, now, this.signal);
    return { clusterId: c.id, token };
  }

  /**
   * On an empty store: a project, its token, the default cluster and its token. Replicas starting
   * together on one empty database: exactly one creates them (and writes iron.json).
   */
  async bootstrapIfEmpty(): Promise<Bootstrap | null> {
    if (!(await this.store.accounts.isEmpty(this.signal))) return null;
    const p = await this.store.accounts.createFirstProject('default', Date.now(), this.signal);
    if (p === undefined) return null;
    const projectToken = await this.projectToken(p.id);
    const c = await this.createCluster(p.id, 'default', true);
    return { projectId: p.id, projectToken, clusterId: c.clusterId, clusterToken: c.token };
  }
}

/** The client config Iron clients read (`iron.json`), mode 0600 since it holds a token. */
export async function writeIronJson(dataDir: string, b: Bootstrap, host: string, port: number, scheme: 'http' | 'https' = 'http'): Promise<string> {
  const path = join(dataDir, 'iron.json');
  const body = { project_id: b.projectId, token: b.projectToken, host, port, scheme };
  await writeFile(path, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  return path;
}
