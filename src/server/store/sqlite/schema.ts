// Schema of the embedded SQLite store. Times are integer milliseconds since the epoch; ids are the
// 24-hex strings clients see; `seq` gives FIFO order within a priority.
export const SCHEMA_VERSION = 3;

/**
 * Columns added after a table was first released: added in place (with their default) when a data
 * dir made by an earlier iron-api is opened, so no data is rewritten and old rows stay valid.
 */
export const ADDED_COLUMNS: ReadonlyArray<{ table: string; column: string; definition: string }> = [
  { table: 'code_revisions', column: 'sha256', definition: "TEXT NOT NULL DEFAULT ''" },
  { table: 'schedules', column: 'max_concurrency', definition: 'INTEGER' },
  // Version 2 (see V2_INDEXES).
  { table: 'tasks', column: 'ready', definition: 'INTEGER NOT NULL DEFAULT 1' },
  { table: 'tasks', column: 'log_truncated', definition: 'INTEGER NOT NULL DEFAULT 0' },
  // Version 3: what the task's container used (NULL: unknown), and the runner_instances table.
  { table: 'tasks', column: 'peak_memory', definition: 'INTEGER' },
  { table: 'tasks', column: 'cpu_seconds', definition: 'REAL' },
];

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS projects (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
  hash TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('project','cluster')),
  project_id TEXT, cluster_id TEXT, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS clusters (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, owner_project_id TEXT NOT NULL,
  memory INTEGER NOT NULL, disk_space INTEGER NOT NULL, cpu_share INTEGER,
  autoscale TEXT NOT NULL DEFAULT '{}', is_default INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS credentials (
  project_id TEXT NOT NULL, server_address TEXT NOT NULL, auth TEXT NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (project_id, server_address)
);
CREATE TABLE IF NOT EXISTS codes (
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL, rev INTEGER NOT NULL,
  history_id TEXT NOT NULL, default_priority INTEGER, max_concurrency INTEGER,
  retries INTEGER NOT NULL DEFAULT 0, retries_delay INTEGER NOT NULL DEFAULT 0,
  paused INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS codes_name ON codes (project_id, name) WHERE deleted = 0;
CREATE TABLE IF NOT EXISTS code_revisions (
  id TEXT PRIMARY KEY, code_id TEXT NOT NULL, project_id TEXT NOT NULL, name TEXT NOT NULL, rev INTEGER NOT NULL,
  image TEXT NOT NULL, command TEXT NOT NULL, env_vars TEXT NOT NULL, config TEXT NOT NULL,
  runtime TEXT NOT NULL, file_name TEXT NOT NULL, checksum TEXT NOT NULL, code_size INTEGER NOT NULL,
  created_at INTEGER NOT NULL, sha256 TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS code_revisions_code ON code_revisions (code_id, rev);
CREATE TABLE IF NOT EXISTS tasks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, project_id TEXT NOT NULL,
  code_id TEXT NOT NULL, code_name TEXT NOT NULL, code_history_id TEXT NOT NULL, code_rev INTEGER NOT NULL,
  cluster_id TEXT NOT NULL, status TEXT NOT NULL, priority INTEGER NOT NULL, timeout INTEGER NOT NULL,
  delay INTEGER NOT NULL, payload TEXT NOT NULL, label TEXT NOT NULL, msg TEXT NOT NULL DEFAULT '',
  percent INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, available_at INTEGER NOT NULL,
  start_time INTEGER, end_time INTEGER, duration INTEGER, exit_code INTEGER,
  attempt INTEGER NOT NULL DEFAULT 0, lost_count INTEGER NOT NULL DEFAULT 0,
  reservation_id TEXT, instance_id TEXT, lease_expires_at INTEGER, cancel_pending INTEGER NOT NULL DEFAULT 0,
  retry_count INTEGER NOT NULL DEFAULT 0, retry_of TEXT, retry_task_id TEXT, schedule_id TEXT,
  log_size INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tasks_ready ON tasks (cluster_id, status, priority DESC, seq);
CREATE INDEX IF NOT EXISTS tasks_code_status ON tasks (code_id, status);
CREATE INDEX IF NOT EXISTS tasks_lease ON tasks (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_delayed ON tasks (available_at) WHERE status = 'queued';
CREATE TABLE IF NOT EXISTS schedules (
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL, code_name TEXT NOT NULL, name TEXT NOT NULL,
  payload TEXT NOT NULL, label TEXT NOT NULL, cluster_id TEXT NOT NULL, priority INTEGER,
  timeout INTEGER NOT NULL, delay INTEGER NOT NULL, start_at INTEGER NOT NULL, end_at INTEGER,
  run_every INTEGER, run_times INTEGER NOT NULL, run_count INTEGER NOT NULL DEFAULT 0,
  last_run_time INTEGER, next_start INTEGER, status TEXT NOT NULL, msg TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, max_concurrency INTEGER
);
CREATE INDEX IF NOT EXISTS tasks_schedule ON tasks (schedule_id, status) WHERE schedule_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS schedules_due ON schedules (next_start) WHERE status = 'scheduled';
CREATE INDEX IF NOT EXISTS schedules_project ON schedules (project_id, created_at);
CREATE TABLE IF NOT EXISTS runner_instances (
  cluster_id TEXT NOT NULL, instance_id TEXT NOT NULL, hostname TEXT NOT NULL, version TEXT NOT NULL,
  slots_total INTEGER NOT NULL, slots_busy INTEGER NOT NULL, draining INTEGER NOT NULL, engine_version TEXT NOT NULL,
  started_at INTEGER, created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL,
  PRIMARY KEY (cluster_id, instance_id)
);
CREATE INDEX IF NOT EXISTS runner_instances_seen ON runner_instances (last_seen_at);
`;

/**
 * Version 2's indexes (its columns are in ADDED_COLUMNS), applied to fresh and version-1 databases
 * alike. `ready`: a queued task whose delay is over (the ticker promotes delayed ones); only meaningful
 * while status = 'queued'. The partial indexes hold ready tasks only, grouped by code, so a reserve
 * looks at one head per code and never walks a backlog it cannot take (a paused code's 100k tasks,
 * or delayed ones). `log_truncated`: the log was cut, by the runner's or the API's cap.
 */

export const V2_INDEXES = `
CREATE INDEX IF NOT EXISTS tasks_heads ON tasks (cluster_id, code_id, priority DESC, seq) WHERE status = 'queued' AND ready = 1;
CREATE INDEX IF NOT EXISTS tasks_ready_by_code ON tasks (code_id, cluster_id) WHERE status = 'queued' AND ready = 1;
CREATE INDEX IF NOT EXISTS tasks_waiting ON tasks (available_at) WHERE status = 'queued' AND ready = 0;
DROP INDEX IF EXISTS tasks_delayed;
`;

/**
 * Version 3: the task list (the HUD's table, v2's GET tasks) newest first by queue time, one index per
 * filter it offers, each ending in (created_at, seq) so that a filter, a time range and the order
 * are one index range read backwards, and the first page of 10,000 tasks reads 50 rows, not 10,000
 * (test/server/task-list-plan.test.ts checks the plans).
 * tasks_code_time answers a code's 24 h counts from the index alone. tasks_project is superseded by
 * tasks_list. Built once when a version-2 data dir is opened (CREATE INDEX walks the table once).
 */
export const V3_INDEXES = `
CREATE INDEX IF NOT EXISTS tasks_list ON tasks (project_id, created_at, seq);
CREATE INDEX IF NOT EXISTS tasks_list_status ON tasks (project_id, status, created_at, seq);
CREATE INDEX IF NOT EXISTS tasks_list_code ON tasks (project_id, code_name, created_at, seq);
CREATE INDEX IF NOT EXISTS tasks_list_cluster ON tasks (project_id, cluster_id, created_at, seq);
CREATE INDEX IF NOT EXISTS tasks_list_label ON tasks (project_id, label, created_at, seq);
CREATE INDEX IF NOT EXISTS tasks_code_time ON tasks (code_id, created_at, status);
DROP INDEX IF EXISTS tasks_project;
`;
