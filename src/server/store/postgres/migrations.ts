// Versioned schema migrations of the PostgreSQL store. Each replica applies the missing ones at
// start, one replica at a time (a session advisory lock), each in its own transaction and recorded
// in schema_migrations, so replicas of different versions starting together never race a DDL.
// Migrations are append-only: a released one is never edited, a change is a new version.
// Times are bigint milliseconds since the epoch and ids the 24-hex strings clients see, as in SQLite;
// `seq` (an identity) gives FIFO order within a priority.
import { IronError } from '../../../errors.js';
import type { PgDb } from './db.js';

/** Advisory lock keys of the store (one 64-bit key space per database). */
export const LOCK_MIGRATE = 0x1a0e_0001;
export const LOCK_BOOTSTRAP = 0x1a0e_0002;
export const LOCK_RETENTION = 0x1a0e_0003;

export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE projects (id text PRIMARY KEY, name text NOT NULL, created_at bigint NOT NULL);
-- The key sealing registry passwords (secret-box.ts), shared by the replicas: a dump holds it too.
CREATE TABLE secret_keys (name text PRIMARY KEY, key bytea NOT NULL);
CREATE TABLE tokens (
  hash text PRIMARY KEY, kind text NOT NULL CHECK (kind IN ('project','cluster')),
  project_id text, cluster_id text, created_at bigint NOT NULL
);
CREATE TABLE clusters (
  id text PRIMARY KEY, name text NOT NULL, owner_project_id text NOT NULL,
  memory bigint NOT NULL, disk_space bigint NOT NULL, cpu_share bigint,
  autoscale text NOT NULL DEFAULT '{}', is_default boolean NOT NULL DEFAULT false,
  deleted boolean NOT NULL DEFAULT false, created_at bigint NOT NULL, updated_at bigint NOT NULL
);
CREATE INDEX clusters_owner ON clusters (owner_project_id, created_at) WHERE NOT deleted;
CREATE TABLE credentials (
  project_id text NOT NULL, server_address text NOT NULL, auth text NOT NULL, updated_at bigint NOT NULL,
  PRIMARY KEY (project_id, server_address)
);
CREATE TABLE codes (
  id text PRIMARY KEY, project_id text NOT NULL, name text NOT NULL, rev integer NOT NULL,
  history_id text NOT NULL, default_priority integer, max_concurrency integer,
  retries integer NOT NULL DEFAULT 0, retries_delay integer NOT NULL DEFAULT 0,
  paused boolean NOT NULL DEFAULT false, deleted boolean NOT NULL DEFAULT false,
  created_at bigint NOT NULL, updated_at bigint NOT NULL
);
CREATE UNIQUE INDEX codes_name ON codes (project_id, name) WHERE NOT deleted;
CREATE TABLE code_revisions (
  id text PRIMARY KEY, code_id text NOT NULL, project_id text NOT NULL, name text NOT NULL, rev integer NOT NULL,
  image text NOT NULL, command text NOT NULL, env_vars text NOT NULL, config text NOT NULL,
  runtime text NOT NULL, file_name text NOT NULL, checksum text NOT NULL, code_size bigint NOT NULL,
  sha256 text NOT NULL DEFAULT '', created_at bigint NOT NULL
);
CREATE INDEX code_revisions_code ON code_revisions (code_id, rev);
CREATE TABLE tasks (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id text NOT NULL UNIQUE, project_id text NOT NULL,
  code_id text NOT NULL, code_name text NOT NULL, code_history_id text NOT NULL, code_rev integer NOT NULL,
  cluster_id text NOT NULL, status text NOT NULL, priority integer NOT NULL, timeout integer NOT NULL,
  delay integer NOT NULL, payload text NOT NULL, label text NOT NULL, msg text NOT NULL DEFAULT '',
  percent integer, created_at bigint NOT NULL, updated_at bigint NOT NULL, available_at bigint NOT NULL,
  start_time bigint, end_time bigint, duration bigint, exit_code integer,
  attempt integer NOT NULL DEFAULT 0, lost_count integer NOT NULL DEFAULT 0,
  reservation_id text, instance_id text, lease_expires_at bigint, cancel_pending boolean NOT NULL DEFAULT false,
  retry_count integer NOT NULL DEFAULT 0, retry_of text, retry_task_id text, schedule_id text,
  log_size bigint NOT NULL DEFAULT 0, log_truncated boolean NOT NULL DEFAULT false,
  -- A queued task whose delay is over (the ticker promotes delayed ones); only meaningful while queued.
  ready boolean NOT NULL DEFAULT true
) WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
-- Reservable tasks only, per cluster and code, best first: a reserve probes one head per code and
-- never walks a backlog it cannot take (a paused code's tasks, delayed ones).
CREATE INDEX tasks_heads ON tasks (cluster_id, code_id, priority DESC, seq) WHERE status = 'queued' AND ready;
CREATE INDEX tasks_ready_by_code ON tasks (code_id, cluster_id) WHERE status = 'queued' AND ready;
CREATE INDEX tasks_waiting ON tasks (available_at) WHERE status = 'queued' AND NOT ready;
CREATE INDEX tasks_active_by_code ON tasks (code_id) WHERE status IN ('preparing','running');
CREATE INDEX tasks_unfinished_by_cluster ON tasks (cluster_id) WHERE status IN ('queued','preparing','running');
CREATE INDEX tasks_project ON tasks (project_id, seq);
CREATE INDEX tasks_code_status ON tasks (code_id, status);
CREATE INDEX tasks_cluster_created ON tasks (cluster_id, created_at);
CREATE INDEX tasks_lease ON tasks (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
CREATE INDEX tasks_schedule ON tasks (schedule_id, status) WHERE schedule_id IS NOT NULL;
CREATE INDEX tasks_ended ON tasks (end_time) WHERE status NOT IN ('queued','preparing','running');
CREATE TABLE schedules (
  id text PRIMARY KEY, project_id text NOT NULL, code_name text NOT NULL, name text NOT NULL,
  payload text NOT NULL, label text NOT NULL, cluster_id text NOT NULL, priority integer,
  timeout integer NOT NULL, delay integer NOT NULL, start_at bigint NOT NULL, end_at bigint,
  run_every integer, run_times integer NOT NULL, run_count integer NOT NULL DEFAULT 0,
  last_run_time bigint, next_start bigint, status text NOT NULL, msg text NOT NULL DEFAULT '',
  created_at bigint NOT NULL, updated_at bigint NOT NULL, max_concurrency integer
);
CREATE INDEX schedules_due ON schedules (next_start) WHERE status = 'scheduled';
CREATE INDEX schedules_project ON schedules (project_id, created_at);
-- Task logs: one row per stored chunk, at its byte offset in the whole log (all attempts).
CREATE TABLE task_log_chunks (task_id text NOT NULL, "offset" bigint NOT NULL, bytes bytea NOT NULL, PRIMARY KEY (task_id, "offset"));
-- Per task log: its size (all attempts), and where the current reservation's output starts (the file store's .writer marker).
CREATE TABLE task_logs (task_id text PRIMARY KEY, total bigint NOT NULL DEFAULT 0, reservation_id text, base bigint NOT NULL DEFAULT 0);
-- Code package zips by revision (history id), in chunks of at most 1 MiB.
CREATE TABLE code_package_chunks (history_id text NOT NULL, n integer NOT NULL, bytes bytea NOT NULL, PRIMARY KEY (history_id, n));
`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Applies the migrations this database lacks; refuses a database newer than this iron-api. */
export async function migrate(db: PgDb, signal: AbortSignal): Promise<number[]> {
  return db.withClient(signal, async (q) => {
    await q.run('SELECT pg_advisory_lock($1)', [LOCK_MIGRATE]);
    try {
      await q.run('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)');
      const have = new Set((await q.rows('SELECT version FROM schema_migrations')).map((r) => Number(r['version'])));
      const newest = Math.max(0, ...have);
      if (newest > SCHEMA_VERSION) throw new IronError('ERR_STORE', `database schema ${newest} is newer than this iron-api (${SCHEMA_VERSION})`);
      const applied: number[] = [];
      for (const m of MIGRATIONS) {
        if (have.has(m.version)) continue;
        await q.run('BEGIN');
        try {
          await q.run(m.sql);
          await q.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
          await q.run('COMMIT');
        } catch (err) {
          await q.run('ROLLBACK').catch(() => undefined);
          throw err;
        }
        applied.push(m.version);
      }
      return applied;
    } finally {
      await q.run('SELECT pg_advisory_unlock($1)', [LOCK_MIGRATE]).catch(() => undefined);
    }
  });
}
