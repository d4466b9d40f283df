// Which clusters a project may use: the one rule every service goes through (queueing tasks, webhooks,
// schedules, task filters, cluster get/update/delete/credentials/stats). A project uses its own
// clusters and the install's shared default cluster; it manages (update, delete, tokens, stats) only
// its own. A cluster it may not use is answered exactly like one that does not exist (404), so ids
// of other tenants' clusters cannot be probed. Iron's cluster sharing (`shared_to`) is not
// implemented: a cluster is private to its owner unless it is the default (docs/security.md).
import { forbidden, notFound } from '../http/errors.js';
import type { ClusterStore } from '../store/ports.js';
import type { Cluster, TokenScope } from '../store/records.js';

export function mayUse(projectId: string, c: Cluster): boolean {
  return c.ownerProjectId === projectId || c.isDefault;
}

export class ClusterAccess {
  constructor(private readonly clusters: ClusterStore) {}

  /**
   * The cluster `idOrName` ("" or undefined = the default cluster) as `projectId` may queue onto it;
   * undefined when there is none the project may use.
   */
  async findUsable(projectId: string, idOrName: string | undefined, signal: AbortSignal): Promise<Cluster | undefined> {
    const wanted = idOrName === undefined || idOrName === '' ? 'default' : idOrName;
    const c = await this.clusters.resolveCluster(projectId, wanted, signal);
    return c !== undefined && mayUse(projectId, c) ? c : undefined;
  }

  /** As findUsable, but a 404 naming what was asked for when there is none. */
  async usable(projectId: string, idOrName: string | undefined, signal: AbortSignal): Promise<Cluster> {
    const c = await this.findUsable(projectId, idOrName, signal);
    if (c === undefined) throw notFound(`cluster not found: ${JSON.stringify((idOrName ?? '') === '' ? 'default' : idOrName)}`);
    return c;
  }

  /** The cluster `id` for reading: by a project that may use it, or by the cluster's own token. */
  async readable(scope: TokenScope, id: string, signal: AbortSignal): Promise<Cluster> {
    const c = await this.clusters.getCluster(id, signal);
    if (scope.kind === 'cluster') {
      if (scope.clusterId !== id) throw forbidden('this token cannot see this cluster');
    } else if (c !== undefined && !mayUse(scope.projectId, c)) {
      throw notFound('Cluster not found');
    }
    if (c === undefined) throw notFound('Cluster not found');
    return c;
  }

  /** The cluster `id` for managing: only by its owner project. */
  async owned(projectId: string, id: string, signal: AbortSignal): Promise<Cluster> {
    const c = await this.clusters.getCluster(id, signal);
    if (c === undefined || !mayUse(projectId, c)) throw notFound('Cluster not found');
    if (c.ownerProjectId !== projectId) throw forbidden('this cluster belongs to another project');
    return c;
  }
}
