// What the queue holds, read for wake-ups and metrics (no locks): the clusters with reservable tasks
// of a code, and the depth per cluster and priority.
import type { QueueDepthRow, ReadyCount } from '../records.js';
import type { PgDb } from './db.js';

/** Loose index scan of tasks_ready_by_code: one probe per cluster; counts stop at 1000 (enough wake-ups). */
export async function readyClustersOf(db: PgDb, codeId: string, signal: AbortSignal): Promise<ReadyCount[]> {
  const rows = await db.rows(
    signal,
    `WITH RECURSIVE c AS (
       (SELECT cluster_id FROM tasks WHERE code_id = $1 AND status = 'queued' AND ready ORDER BY cluster_id LIMIT 1)
       UNION ALL
       SELECT (SELECT t.cluster_id FROM tasks t WHERE t.code_id = $1 AND t.status = 'queued' AND t.ready AND t.cluster_id > c.cluster_id ORDER BY t.cluster_id LIMIT 1)
         FROM c WHERE c.cluster_id IS NOT NULL)
     SELECT c.cluster_id, (SELECT COUNT(*) FROM (SELECT 1 FROM tasks t WHERE t.code_id = $1 AND t.cluster_id = c.cluster_id AND t.status = 'queued' AND t.ready LIMIT 1000) x) AS n
       FROM c WHERE c.cluster_id IS NOT NULL`,
    [codeId],
  );
  return rows.map((r) => ({ clusterId: String(r['cluster_id']), count: Number(r['n']) }));
}

export async function queueDepth(db: PgDb, _now: number, signal: AbortSignal): Promise<QueueDepthRow[]> {
  const rows = await db.rows(signal, "SELECT cluster_id, priority, COUNT(*) AS n FROM tasks WHERE status = 'queued' AND ready GROUP BY cluster_id, priority");
  return rows.map((r) => ({ clusterId: String(r['cluster_id']), priority: Number(r['priority']), count: Number(r['n']) }));
}
