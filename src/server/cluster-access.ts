// Which clusters a project may use: the one rule every route goes through (queueing tasks, webhooks,
// schedules, task filters, cluster get/update/delete/credentials/stats). A project uses its own
// clusters and the install's shared default cluster; it manages (update, delete, tokens, stats) only
// its own. A cluster it may not use is answered exactly like one that does not exist (404), so ids
// of other tenants' clusters cannot be probed. Iron's cluster sharing (`shared_to`) is not
// implemented: a cluster is private to its owner unless it is the default (docs/security.md).
import type { Ctx } from './context.js';
import { forbidden, notFound } from './http/errors.js';
import type { Cluster } from './store/types.js';

export function mayUse(projectId: string, c: Cluster): boolean {
  return c.ownerProjectId === projectId || c.isDefault;
}

/**
 * The cluster `idOrName` ("" or undefined = the default cluster) as `projectId` may queue onto it;
 * undefined when there is none the project may use.
 */
export async function findUsableCluster(ctx: Ctx, projectId: string, idOrName: string | undefined): Promise<Cluster | undefined> {
  const wanted = idOrName === undefined || idOrName === '' ? 'default' : idOrName;
  const c = await ctx.deps.store.resolveCluster(projectId, wanted);
  return c !== undefined && mayUse(projectId, c) ? c : undefined;
}

/** As findUsableCluster, but a 404 naming what was asked for when there is none. */
export async function usableCluster(ctx: Ctx, projectId: string, idOrName: string | undefined): Promise<Cluster> {
  const c = await findUsableCluster(ctx, projectId, idOrName);
  if (c === undefined) throw notFound(`cluster not found: ${JSON.stringify((idOrName ?? '') === '' ? 'default' : idOrName)}`);
  return c;
}

/** The cluster in the path for reading: a project that may use it, or the cluster's own token. */
export async function readableCluster(ctx: Ctx): Promise<Cluster> {
  // The token first: a stranger learns nothing about ids, well formed or not (401 before 404).
  const scope = await ctx.auth();
  const id = ctx.id('cid', 'cluster');
  const c = await ctx.deps.store.getCluster(id);
  if (scope.kind === 'cluster') {
    if (scope.clusterId !== id) throw forbidden('this token cannot see this cluster');
  } else if (c !== undefined && !mayUse(scope.projectId, c)) {
    throw notFound('Cluster not found');
  }
  if (c === undefined) throw notFound('Cluster not found');
  return c;
}

/** The cluster in the path for managing: only its owner project's token. */
export async function ownedCluster(ctx: Ctx): Promise<Cluster> {
  const pid = await ctx.projectToken();
  const c = await ctx.deps.store.getCluster(ctx.id('cid', 'cluster'));
  if (c === undefined || !mayUse(pid, c)) throw notFound('Cluster not found');
  if (c.ownerProjectId !== pid) throw forbidden('this cluster belongs to another project');
  return c;
}
