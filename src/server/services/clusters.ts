// Clusters (root-scoped API): create with a token, list, read, update, delete, mint tokens, stats.
// Who may do what is ClusterAccess; quotas are here.
import { IronError } from '../../errors.js';
import { hashToken } from '../auth.js';
import { conflict, notFound } from '../http/errors.js';
import { newToken } from '../ids.js';
import type { ClusterPatch, NewCluster } from '../store/ports.js';
import type { Cluster, Page, TaskStatus, TokenScope } from '../store/records.js';
import type { ServicesCore } from './core.js';

export const MAX_CLUSTERS_PER_PROJECT = 100;

/** A cluster's own fields as a create request gives them (the owner and `isDefault` are the service's). */
export type ClusterFields = Omit<NewCluster, 'ownerProjectId' | 'isDefault' | 'name'>;

export class Clusters {
  constructor(private readonly core: ServicesCore) {}

  list(projectId: string, page: Page, signal: AbortSignal): Promise<Cluster[]> {
    return this.core.store.clusters.listClusters(projectId, page, signal);
  }

  /** `fields` is read after the quota check (a request over quota is refused whatever its fields). */
  async create(projectId: string, name: string, fields: () => ClusterFields, signal: AbortSignal): Promise<{ cluster: Cluster; token: string }> {
    const { clusters } = this.core.store;
    if ((await clusters.countClusters(projectId, signal)) >= MAX_CLUSTERS_PER_PROJECT) {
      throw new IronError('ERR_SERVER_QUOTA', `a project may own at most ${MAX_CLUSTERS_PER_PROJECT} clusters; delete some first`);
    }
    const now = Date.now();
    const cluster = await clusters.createCluster({ name, ownerProjectId: projectId, ...fields(), isDefault: false }, now, signal);
    return { cluster, token: await this.mintToken(cluster.id, now, signal) };
  }

  /** For reading: a project that may use it, or the cluster's own token. */
  readable(scope: TokenScope, id: string, signal: AbortSignal): Promise<Cluster> {
    return this.core.access.readable(scope, id, signal);
  }

  /** For managing: only its owner project. */
  owned(projectId: string, id: string, signal: AbortSignal): Promise<Cluster> {
    return this.core.access.owned(projectId, id, signal);
  }

  async update(id: string, patch: ClusterPatch, signal: AbortSignal): Promise<Cluster> {
    const updated = await this.core.store.clusters.updateCluster(id, patch, Date.now(), signal);
    if (updated === undefined) throw notFound('Cluster not found');
    return updated;
  }

  async delete(projectId: string, id: string, signal: AbortSignal): Promise<void> {
    const c = await this.owned(projectId, id, signal);
    const out = await this.core.store.clusters.deleteCluster(c.id, signal);
    // Its tokens were deleted with it: no request may pass on a remembered one.
    if (out !== 'busy') this.core.tokens.forgetCluster(c.id);
    if (out === 'busy') throw conflict('the cluster still has queued or running tasks');
    if (out === 'not_found') throw notFound('Cluster not found');
  }

  /**
   * Tokens are stored hashed, so they cannot be shown again: this mints an additional token
   * (existing ones stay valid).
   */
  async newToken(projectId: string, id: string, signal: AbortSignal): Promise<{ cluster: Cluster; token: string }> {
    const cluster = await this.owned(projectId, id, signal);
    return { cluster, token: await this.mintToken(cluster.id, Date.now(), signal) };
  }

  async stats(projectId: string, id: string, signal: AbortSignal): Promise<{ cluster: Cluster; counts: Record<TaskStatus, number> }> {
    const cluster = await this.owned(projectId, id, signal);
    return { cluster, counts: await this.core.store.tasks.taskCounts({ clusterId: cluster.id }, signal) };
  }

  private async mintToken(clusterId: string, now: number, signal: AbortSignal): Promise<string> {
    const token = newToken();
    await this.core.store.accounts.addToken(hashToken(token), { kind: 'cluster', clusterId }, now, signal);
    return token;
  }
}
