// Row <-> domain mapping of both stores (SQLite and PostgreSQL use the same snake_case columns).
// JSON columns are text, parsed defensively so one bad row cannot crash a listing. PostgreSQL hands
// back int8 as strings and booleans as booleans; Number() reads both like SQLite's integers.
import type { Cluster, Code, CodeRevision, Schedule, Task, TaskStatus } from './records.js';

type R = Record<string, unknown>;

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
// SQLite hands back only strings, numbers, bigints, buffers and null; PostgreSQL strings for int8.
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? v.toString() : '');
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : str(v));

function jsonObject(v: unknown): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(str(v));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(jsonObject(v))) out[k] = String(val);
  return out;
}

export function toCluster(r: R): Cluster {
  return {
    id: str(r['id']),
    name: str(r['name']),
    ownerProjectId: str(r['owner_project_id']),
    memory: num(r['memory']),
    diskSpace: num(r['disk_space']),
    cpuShare: numOrNull(r['cpu_share']),
    autoscale: jsonObject(r['autoscale']),
    isDefault: num(r['is_default']) === 1,
    createdAt: num(r['created_at']),
    updatedAt: num(r['updated_at']),
  };
}

function codeFields(r: R): Pick<Code, 'image' | 'command' | 'envVars' | 'config' | 'runtime' | 'fileName' | 'checksum' | 'codeSize' | 'sha256'> {
  return {
    image: str(r['image']),
    command: str(r['command']),
    envVars: stringMap(r['env_vars']),
    config: str(r['config']),
    runtime: str(r['runtime']),
    fileName: str(r['file_name']),
    checksum: str(r['checksum']),
    codeSize: num(r['code_size']),
    sha256: str(r['sha256'] ?? ''),
  };
}

/** Expects codes joined with their latest revision (`rv.*` columns aliased without clashes). */
export function toCode(r: R): Code {
  return {
    ...codeFields(r),
    id: str(r['id']),
    projectId: str(r['project_id']),
    name: str(r['name']),
    rev: num(r['rev']),
    historyId: str(r['history_id']),
    defaultPriority: numOrNull(r['default_priority']),
    maxConcurrency: numOrNull(r['max_concurrency']),
    retries: num(r['retries']),
    retriesDelay: num(r['retries_delay']),
    paused: num(r['paused']) === 1,
    createdAt: num(r['created_at']),
    updatedAt: num(r['updated_at']),
  };
}

export function toRevision(r: R): CodeRevision {
  return {
    ...codeFields(r),
    id: str(r['id']),
    codeId: str(r['code_id']),
    projectId: str(r['project_id']),
    name: str(r['name']),
    rev: num(r['rev']),
    createdAt: num(r['created_at']),
  };
}

export function toTask(r: R): Task {
  return {
    id: str(r['id']),
    projectId: str(r['project_id']),
    codeId: str(r['code_id']),
    codeName: str(r['code_name']),
    codeHistoryId: str(r['code_history_id']),
    codeRev: num(r['code_rev']),
    clusterId: str(r['cluster_id']),
    status: str(r['status']) as TaskStatus,
    priority: num(r['priority']),
    timeout: num(r['timeout']),
    delay: num(r['delay']),
    payload: str(r['payload']),
    label: str(r['label']),
    msg: str(r['msg']),
    percent: numOrNull(r['percent']),
    createdAt: num(r['created_at']),
    updatedAt: num(r['updated_at']),
    availableAt: num(r['available_at']),
    startTime: numOrNull(r['start_time']),
    endTime: numOrNull(r['end_time']),
    duration: numOrNull(r['duration']),
    exitCode: numOrNull(r['exit_code']),
    attempt: num(r['attempt']),
    lostCount: num(r['lost_count']),
    reservationId: strOrNull(r['reservation_id']),
    instanceId: strOrNull(r['instance_id']),
    leaseExpiresAt: numOrNull(r['lease_expires_at']),
    cancelPending: num(r['cancel_pending']) === 1,
    retryCount: num(r['retry_count']),
    retryOf: strOrNull(r['retry_of']),
    retryTaskId: strOrNull(r['retry_task_id']),
    scheduleId: strOrNull(r['schedule_id']),
    logSize: num(r['log_size']),
    logTruncated: num(r['log_truncated']) === 1,
  };
}

export function toSchedule(r: R): Schedule {
  return {
    id: str(r['id']),
    projectId: str(r['project_id']),
    codeName: str(r['code_name']),
    name: str(r['name']),
    payload: str(r['payload']),
    label: str(r['label']),
    clusterId: str(r['cluster_id']),
    priority: numOrNull(r['priority']),
    timeout: num(r['timeout']),
    delay: num(r['delay']),
    startAt: num(r['start_at']),
    endAt: numOrNull(r['end_at']),
    runEvery: numOrNull(r['run_every']),
    runTimes: num(r['run_times']),
    maxConcurrency: numOrNull(r['max_concurrency']),
    runCount: num(r['run_count']),
    errorCount: num(r['error_count'] ?? 0),
    lastRunTime: numOrNull(r['last_run_time']),
    nextStart: numOrNull(r['next_start']),
    status: str(r['status']) as Schedule['status'],
    msg: str(r['msg']),
    createdAt: num(r['created_at']),
    updatedAt: num(r['updated_at']),
  };
}
