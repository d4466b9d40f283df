// Clusters (root-scoped): create (returns id and token), list, get, update, delete, credentials,
// stats. GET /2/clusters/{id} also answers the cluster's own token: it is the runner's startup check.
import type { Handler } from '../context.js';
import { checkName } from '../names.js';
import { badRequest } from '../http/errors.js';
import type { Router } from '../http/router.js';
import { clusterJson, instanceJson } from '../present.js';
import { fleetCounts } from '../services/fleet.js';
import { optNumber, optObject, optString, pageOf } from '../validate.js';

const MAX_BYTES = 2 ** 50;

export function registerClusterRoutes(r: Router<Handler>): void {
  r.add('GET', '/2/clusters', async (ctx) => {
    const pid = await ctx.projectToken();
    const list = await ctx.deps.services.clusters.list(pid, pageOf(ctx.query), ctx.signal);
    const runners = await ctx.deps.services.fleet.counts(
      list.map((c) => c.id),
      ctx.signal,
    );
    return { clusters: list.map((c) => clusterJson(c, runners.get(c.id))) };
  });

  r.add('POST', '/2/clusters', async (ctx) => {
    const pid = await ctx.projectToken();
    const b = await ctx.json();
    const name = checkName(optString(b, 'name') ?? '', 'name');
    if (name === '') throw badRequest('name is required');
    const { cluster, token } = await ctx.deps.services.clusters.create(
      pid,
      name,
      () => ({
        memory: optNumber(b, 'memory', 4 * 1024 * 1024, MAX_BYTES) ?? ctx.deps.config.clusterMemory,
        diskSpace: optNumber(b, 'disk_space', 0, MAX_BYTES) ?? optNumber(b, 'disk', 0, MAX_BYTES) ?? ctx.deps.config.clusterDisk,
        cpuShare: optNumber(b, 'cpu_share', 2, 262_144) ?? null,
        autoscale: optObject(b, 'autoscale') ?? {},
      }),
      ctx.signal,
    );
    return { msg: 'Cluster created', id: cluster.id, token, cluster: { ...clusterJson(cluster), token } };
  });

  r.add('GET', '/2/clusters/:cid', async (ctx) => {
    // The token first: a stranger learns nothing about ids, well formed or not (401 before 404).
    const scope = await ctx.auth();
    const c = await ctx.deps.services.clusters.readable(scope, ctx.id('cid', 'cluster'), ctx.signal);
    return { cluster: clusterJson(c, (await ctx.deps.services.fleet.counts([c.id], ctx.signal)).get(c.id)) };
  });

  r.add('PUT', '/2/clusters/:cid', async (ctx) => {
    const svc = ctx.deps.services.clusters;
    const pid = await ctx.projectToken();
    const c = await svc.owned(pid, ctx.id('cid', 'cluster'), ctx.signal);
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
    return { msg: 'Cluster updated', cluster: clusterJson(await svc.update(c.id, patch, ctx.signal)) };
  });

  r.add('DELETE', '/2/clusters/:cid', async (ctx) => {
    const pid = await ctx.projectToken();
    await ctx.deps.services.clusters.delete(pid, ctx.id('cid', 'cluster'), ctx.signal);
    return { msg: 'Cluster deleted' };
  });

  // Tokens are stored hashed, so they cannot be shown again: this mints an additional token
  // (existing ones stay valid) in both shapes clients read.
  r.add('GET', '/2/clusters/:cid/credentials', async (ctx) => {
    const pid = await ctx.projectToken();
    const { cluster, token } = await ctx.deps.services.clusters.newToken(pid, ctx.id('cid', 'cluster'), ctx.signal);
    return { token, cluster: { id: cluster.id, tokens: [token] } };
  });

  r.add('GET', '/2/clusters/:cid/stats', async (ctx) => {
    const pid = await ctx.projectToken();
    const { cluster: c, counts } = await ctx.deps.services.clusters.stats(pid, ctx.id('cid', 'cluster'), ctx.signal);
    const instances = await ctx.deps.services.fleet.instances(c.id, ctx.signal);
    const runners = fleetCounts(instances);
    return {
      cluster: {
        id: c.id,
        ...counts,
        queued: counts.queued,
        running: counts.running + counts.preparing,
        ewma: ctx.deps.services.ewma.value(c.id),
        runners_available: runners.runnersAvailable,
        runners_total: runners.runnersTotal,
        instances: instances.map(instanceJson),
      },
    };
  });
}
