// The write side of rows.ts: which columns an insert or update of a table writes, in one order, with
// the values from a record, for both stores. The SQL texts are built from these lists (SQLite `?`,
// PostgreSQL `$n`), so a column added to a table is added once, not in four near-identical lists.
import type { Cluster, CodeInput, NewSchedule } from './records.js';

type Value = string | number | null;

/** A schedule's fields a create and an update both write. */
export const SCHEDULE_COLUMNS = ['code_name', 'name', 'payload', 'label', 'cluster_id', 'priority', 'timeout', 'delay', 'start_at', 'end_at', 'run_every', 'run_times', 'max_concurrency'] as const;

export function scheduleValues(s: NewSchedule): Value[] {
  return [s.codeName, s.name, s.payload, s.label, s.clusterId, s.priority, s.timeout, s.delay, s.startAt, s.endAt, s.runEvery, s.runTimes, s.maxConcurrency];
}

/** A code revision's columns after its id, code_id, project_id, name and rev; created_at last. */
export const REVISION_COLUMNS = ['image', 'command', 'env_vars', 'config', 'runtime', 'file_name', 'checksum', 'code_size', 'sha256'] as const;

/** A code with its current revision's fields, as both stores read it (rows.ts toCode). */
export const SELECT_CODE = `SELECT c.*, ${REVISION_COLUMNS.map((c) => `r.${c}`).join(', ')}
  FROM codes c JOIN code_revisions r ON r.id = c.history_id`;

export function revisionValues(input: CodeInput): Value[] {
  return [input.image, input.command, JSON.stringify(input.envVars), input.config, input.runtime, input.fileName, input.checksum, input.codeSize, input.sha256];
}

/** `n` placeholders: SQLite's `?` (from = undefined) or PostgreSQL's `$from`, `$from+1`, ... */
export function placeholders(n: number, from?: number): string {
  return Array.from({ length: n }, (_, i) => (from === undefined ? '?' : `$${from + i}`)).join(', ');
}

/** `col = ?, ...` (or `col = $from, ...`) for an UPDATE. */
export function assignments(columns: readonly string[], from?: number): string {
  return columns.map((c, i) => `${c} = ${from === undefined ? '?' : `$${from + i}`}`).join(', ');
}

/** A code's settings, written when it is created and again by each new revision. */
export const CODE_SETTING_COLUMNS = ['default_priority', 'max_concurrency', 'retries', 'retries_delay'] as const;

export function codeSettingValues(input: CodeInput): Value[] {
  return [input.defaultPriority, input.maxConcurrency, input.retries, input.retriesDelay];
}

/** A cluster's columns an update writes (before updated_at). */
export const CLUSTER_UPDATE_COLUMNS = ['name', 'memory', 'disk_space', 'cpu_share', 'autoscale'] as const;

export function clusterUpdateValues(c: Pick<Cluster, 'name' | 'memory' | 'diskSpace' | 'cpuShare' | 'autoscale'>): Value[] {
  return [c.name, c.memory, c.diskSpace, c.cpuShare, JSON.stringify(c.autoscale)];
}
