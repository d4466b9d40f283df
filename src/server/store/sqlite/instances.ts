// The runner fleet in SQLite: one row per (cluster, instance), upserted from heartbeats. Rows are
// never deleted by a write, only by dropInstances (the retention of lost instances).
import type { InstanceSighting } from '../ports.js';
import type { RunnerInstance } from '../records.js';
import type { Db } from './db.js';
import { toInstance } from '../rows.js';

export function recordInstances(db: Db, seen: readonly InstanceSighting[]): void {
  if (seen.length === 0) return;
  db.tx(() => {
    for (const { report: r, at } of seen) {
      db.run(
        `INSERT INTO runner_instances (cluster_id, instance_id, hostname, version, slots_total, slots_busy, draining, engine_version, started_at, created_at, last_seen_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (cluster_id, instance_id) DO UPDATE SET hostname = excluded.hostname, version = excluded.version,
           slots_total = excluded.slots_total, slots_busy = excluded.slots_busy, draining = excluded.draining,
           engine_version = excluded.engine_version, started_at = excluded.started_at, last_seen_at = excluded.last_seen_at`,
        r.clusterId,
        r.instanceId,
        r.hostname,
        r.version,
        r.slotsTotal,
        r.slotsBusy,
        r.draining ? 1 : 0,
        r.engineVersion,
        r.startedAt,
        at,
        at,
      );
    }
  });
}

export function listInstances(db: Db, clusterIds: readonly string[] | null, seenSince: number): RunnerInstance[] {
  const rows =
    clusterIds === null
      ? db.all<Record<string, unknown>>('SELECT * FROM runner_instances WHERE last_seen_at >= ? ORDER BY created_at, instance_id', seenSince)
      : db.all<Record<string, unknown>>(
          'SELECT * FROM runner_instances WHERE cluster_id IN (SELECT value FROM json_each(?)) AND last_seen_at >= ? ORDER BY created_at, instance_id',
          JSON.stringify(clusterIds),
          seenSince,
        );
  return rows.map(toInstance);
}

export function dropInstances(db: Db, seenBefore: number): number {
  return db.run('DELETE FROM runner_instances WHERE last_seen_at < ?', seenBefore);
}
