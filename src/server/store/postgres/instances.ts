// The runner fleet in PostgreSQL: one row per (cluster, instance), upserted from heartbeats (a HOT
// update: no indexed column but last_seen_at changes, and the table leaves room on each page).
// Rows are deleted only by dropInstances (the retention of lost instances).
import type { InstanceStore } from '../ports.js';
import { toInstance } from '../rows.js';
import type { PgDb } from './db.js';

export function instanceStore(db: PgDb): InstanceStore {
  return {
    recordInstance: async (r, now, signal) => {
      await db.run(
        signal,
        `INSERT INTO runner_instances (cluster_id, instance_id, hostname, version, slots_total, slots_busy, draining, engine_version, started_at, created_at, last_seen_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
         ON CONFLICT (cluster_id, instance_id) DO UPDATE SET hostname = excluded.hostname, version = excluded.version,
           slots_total = excluded.slots_total, slots_busy = excluded.slots_busy, draining = excluded.draining,
           engine_version = excluded.engine_version, started_at = excluded.started_at, last_seen_at = excluded.last_seen_at`,
        [r.clusterId, r.instanceId, r.hostname, r.version, r.slotsTotal, r.slotsBusy, r.draining, r.engineVersion, r.startedAt, now],
      );
    },
    listInstances: async (clusterIds, seenSince, signal) => {
      const rows =
        clusterIds === null
          ? await db.rows(signal, 'SELECT * FROM runner_instances WHERE last_seen_at >= $1 ORDER BY created_at, instance_id', [seenSince])
          : await db.rows(signal, 'SELECT * FROM runner_instances WHERE cluster_id = ANY($1::text[]) AND last_seen_at >= $2 ORDER BY created_at, instance_id', [[...clusterIds], seenSince]);
      return rows.map(toInstance);
    },
    dropInstances: (seenBefore, signal) => db.run(signal, 'DELETE FROM runner_instances WHERE last_seen_at < $1', [seenBefore]),
  };
}
