// The runner fleet in PostgreSQL: one row per (cluster, instance), upserted from heartbeats in
// batches (services/fleet.ts writes a second's reports at once). last_seen_at is indexed (for the
// lost and retention reads), so an upsert is not a HOT update; fillfactor 70 leaves room on each
// page all the same. Rows are deleted only by dropInstances (the retention of lost instances).
import type { InstanceSighting, InstanceStore } from '../ports.js';
import { toInstance } from '../rows.js';
import type { PgDb } from './db.js';

export function instanceStore(db: PgDb): InstanceStore {
  return {
    // One statement for the whole batch: the columns as arrays, unnested into rows.
    recordInstances: async (seen, signal) => {
      if (seen.length === 0) return;
      const col = <T>(f: (x: InstanceSighting) => T): T[] => seen.map(f);
      await db.run(
        signal,
        `INSERT INTO runner_instances (cluster_id, instance_id, hostname, version, slots_total, slots_busy, draining, engine_version, started_at, created_at, last_seen_at)
           SELECT c, i, h, v, st, sb, d, e, sa, at, at
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::boolean[], $8::text[], $9::bigint[], $10::bigint[])
               AS u(c, i, h, v, st, sb, d, e, sa, at)
         ON CONFLICT (cluster_id, instance_id) DO UPDATE SET hostname = excluded.hostname, version = excluded.version,
           slots_total = excluded.slots_total, slots_busy = excluded.slots_busy, draining = excluded.draining,
           engine_version = excluded.engine_version, started_at = excluded.started_at, last_seen_at = excluded.last_seen_at`,
        [
          col((x) => x.report.clusterId),
          col((x) => x.report.instanceId),
          col((x) => x.report.hostname),
          col((x) => x.report.version),
          col((x) => x.report.slotsTotal),
          col((x) => x.report.slotsBusy),
          col((x) => x.report.draining),
          col((x) => x.report.engineVersion),
          col((x) => x.report.startedAt),
          col((x) => x.at),
        ],
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
