// Clusters (root-scoped): create (returns id and token), list, get, update, delete, credentials,
// stats. GET /2/clusters/{id} also answers the cluster's own token: it is the runner's startup check.
import { IronError } from '../../errors.js';
import type { Ctx, Handler } from '../context.js';
import { checkName } from '../names.js';
import { ownedCluster as owned, readableCluster as readable } from '../cluster-access.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
import type { Router } from '../http/router.js';
import { hashToken } from '../auth.js';
import { newToken } from '../ids.js';
import { clusterJson } from '../present.js';
import { optNumber, optObject, optString, pageOf } from '../validate.js';

const MAX_BYTES = 2 ** 50;
export const MAX_CLUSTERS_PER_PROJECT = 100;

export function registerClusterRoutes(r: Router<Handler>): void {
  r.add('GET', '/2/clusters', async (ctx) => {
    const pid = await ctx.projectToken();
    return { clusters: (await ctx.deps.store.listClusters(pid, pageOf(ctx.query))).map(clusterJson) };
  });

  r.add('POST', '/2/clusters', async (ctx) => {
    const pid = await ctx.projectToken();
    const b = await ctx.json();
    const name = checkName(optString(b, 'name') ?? '', 'name');
    if (name === '') throw badRequest('name is required');
    if ((await ctx.deps.store.countClusters(pid)) >= MAX_CLUSTERS_PER_PROJECT) {
      throw new IronError('ERR_SERVER_QUOTA', `a project may own at most ${MAX_CLUSTERS_PER_PROJECT} clusters; delete some first`);
    }
    const now = Date.now();
    const cluster = await ctx.deps.store.createCluster({
      name, ownerProjectId: pid,
      memory: optNumber(b, 'memory', 4 * 1024 * 1024, MAX_BYTES) ?? ctx.deps.config.clusterMemory,
      diskSpace: optNumber(b, 'disk_space', 0, MAX_BYTES) ?? optNumber(b, 'disk', 0, MAX_BYTES) ?? ctx.deps.config.clusterDisk,
      cpuShare: optNumber(b, 'cpu_share', 2, 262_144) ?? null,
      autoscale: optObject(b, 'autoscale') ?? {},
      isDefault: false,
    }, now);
    const token = await mintToken(ctx, cluster.id, now);
    return { msg: 'Cluster created', id: cluster.id, token, cluster: { ...clusterJson(cluster), token } };
  });

  r.add('GET', '/2/clusters/:cid', async (ctx) => ({ cluster: clusterJson(await readable(ctx)) }));

  r.add('PUT', '/2/clusters/:cid', async (ctx) => {
    const c = await owned(ctx);
    const b = await ctx.json();
    const name = optString(b, 'name');
    if (name !== undefined) checkName(name, 'name');
    const memory = optNumber(b, 'memory', 4 * 1024 * 1024, MAX_BYTES);
    const disk = optNumber(b, 'disk_space', 0, MAX_BYTES) ?? optNumber(b, 'disk', 0, MAX_BYTES);
    const cpu = optNumber(b, 'cpu_share', 2, 262_144);
    const autoscale = optObject(b, 'autoscale');
    const patch = {
      ...(name !== undefined && name !== '' ? { name } : {}),
      ...(memory !== undefined ? { memory } : {}),
      ...(disk !== undefined ? { diskSpace: disk } : {}),
      ...(cpu !== undefined ? { cpuShare: cpu } : {}),
      ...(autoscale !== undefined ? { autoscale } : {}),
    };
    const updated = await ctx.deps.store.updateCluster(c.id, patch, Date.now());
    if (updated === undefined) throw notFound('Cluster not found');
    return { msg: 'Cluster updated', cluster: clusterJson(updated) };
  });

  r.add('DELETE', '/2/clusters/:cid', async (ctx) => {
    const c = await owned(ctx);
    const out = await ctx.deps.store.deleteCluster(c.id);
    if (out === 'busy') throw conflict('the cluster still has queued or running tasks');
    if (out === 'not_found') throw notFound('Cluster not found');
    return { msg: 'Cluster deleted' };
  });

  // Tokens are stored hashed, so they cannot be shown again: this mints an additional token
  // (existing ones stay valid) in both shapes clients read.
  r.add('GET', '/2/clusters/:cid/credentials', async (ctx) => {
    const c = await owned(ctx);
    const token = await mintToken(ctx, c.id, Date.now());
    return { token, cluster: { id: c.id, tokens: [token] } };
  });

  r.add('GET', '/2/clusters/:cid/stats', async (ctx) => {
    const c = await owned(ctx);
    const counts = await ctx.deps.store.taskCounts({ clusterId: c.id });
    return {
      cluster: { id: c.id, ...counts, queued: counts.queued, running: counts.running + counts.preparing, instances: [], runners_available: 0, runners_total: 0, ewma: 0 },
    };
  });
}

async function mintToken(ctx: Ctx, clusterId: string, now: number): Promise<string> {
  const token = newToken();
  await ctx.deps.store.addToken(hashToken(token), { kind: 'cluster', clusterId }, now);
  return token;
}
