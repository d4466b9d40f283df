// Domain objects -> the JSON shapes Iron clients decode (ids as 24-hex strings, times as RFC 3339,
// `code_rev` as a string, `rev` as an int, optional fields omitted rather than null).
import { rfc3339 } from './ids.js';
import type { FleetCounts, InstanceView } from './services/fleet.js';
import type { Cluster, Code, CodeRevision, Schedule, Task } from './store/records.js';

type J = Record<string, unknown>;

export function taskJson(t: Task): J {
  const out: J = {
    id: t.id,
    project_id: t.projectId,
    code_id: t.codeId,
    code_history_id: t.codeHistoryId,
    code_name: t.codeName,
    code_rev: String(t.codeRev),
    status: t.status,
    priority: t.priority,
    timeout: t.timeout,
    delay: t.delay,
    payload: t.payload,
    cluster: t.clusterId,
    log_size: t.logSize,
    retry_count: t.retryCount,
    created_at: rfc3339(t.createdAt),
    updated_at: rfc3339(t.updatedAt),
  };
  if (t.msg !== '') out['msg'] = t.msg;
  if (t.label !== '') out['label'] = t.label;
  if (t.percent !== null) out['percent'] = t.percent;
  if (t.startTime !== null) out['start_time'] = rfc3339(t.startTime);
  if (t.endTime !== null) out['end_time'] = rfc3339(t.endTime);
  if (t.duration !== null) out['duration'] = Math.round(t.duration);
  if (t.exitCode !== null) out['exit_code'] = t.exitCode;
  if (t.scheduleId !== null) out['schedule_id'] = t.scheduleId;
  if (t.retryOf !== null) out['retry_of'] = t.retryOf;
  if (t.retryTaskId !== null) out['retry_task_id'] = t.retryTaskId;
  if (t.attempt > 0) out['attempt'] = t.attempt;
  if (t.logTruncated) out['log_truncated'] = true;
  if (t.peakMemory !== null) out['peak_memory'] = Math.round(t.peakMemory);
  if (t.cpuSeconds !== null) out['cpu_seconds'] = Math.round(t.cpuSeconds * 1000) / 1000;
  return out;
}

export function codeJson(c: Code): J {
  const out: J = {
    id: c.id,
    project_id: c.projectId,
    name: c.name,
    rev: c.rev,
    latest_history_id: c.historyId,
    latest_change: rfc3339(c.updatedAt),
    created_at: rfc3339(c.createdAt),
    updated_at: rfc3339(c.updatedAt),
    image: c.image,
    command: c.command,
    config: c.config,
    env_vars: c.envVars,
    retries: c.retries,
    retries_delay: c.retriesDelay,
    paused: c.paused,
  };
  if (c.maxConcurrency !== null) out['max_concurrency'] = c.maxConcurrency;
  if (c.defaultPriority !== null) out['default_priority'] = c.defaultPriority;
  if (c.runtime !== '') out['runtime'] = c.runtime;
  if (c.fileName !== '') out['file_name'] = c.fileName;
  if (c.checksum !== '') out['latest_checksum'] = c.checksum;
  return out;
}

export function revisionJson(r: CodeRevision): J {
  return {
    id: r.id,
    code_id: r.codeId,
    project_id: r.projectId,
    name: r.name,
    rev: r.rev,
    image: r.image,
    command: r.command,
    config: r.config,
    file_name: r.fileName,
    runtime: r.runtime,
    checksum: r.checksum,
    code_size: r.codeSize,
    created_at: rfc3339(r.createdAt),
    updated_at: rfc3339(r.createdAt),
  };
}

export function scheduleJson(s: Schedule): J {
  const out: J = {
    id: s.id,
    project_id: s.projectId,
    code_name: s.codeName,
    name: s.name,
    payload: s.payload,
    status: s.status,
    cluster: s.clusterId,
    timeout: s.timeout,
    delay: s.delay,
    task_delay: s.delay,
    run_times: s.runTimes,
    run_count: s.runCount,
    max_concurrency: s.maxConcurrency ?? 0,
    error_count: s.errorCount,
    start_at: rfc3339(s.startAt),
    end_at: rfc3339(s.endAt),
    last_run_time: rfc3339(s.lastRunTime),
    next_start: rfc3339(s.nextStart),
    created_at: rfc3339(s.createdAt),
    updated_at: rfc3339(s.updatedAt),
  };
  if (s.runEvery !== null) out['run_every'] = s.runEvery;
  if (s.priority !== null) out['priority'] = s.priority;
  if (s.label !== '') out['label'] = s.label;
  if (s.msg !== '') out['msg'] = s.msg;
  return out;
}

/** `runners`: slots of the cluster's live runner instances (none known: zeros). */
export function clusterJson(c: Cluster, runners: FleetCounts = { runnersTotal: 0, runnersAvailable: 0 }): J {
  const out: J = {
    id: c.id,
    name: c.name,
    user_id: c.ownerProjectId,
    memory: c.memory,
    disk_space: c.diskSpace,
    autoscale: c.autoscale,
    machines: [],
    shared_to: [],
    runners_available: runners.runnersAvailable,
    runners_total: runners.runnersTotal,
    default: c.isDefault,
    created_at: rfc3339(c.createdAt),
    updated_at: rfc3339(c.updatedAt),
  };
  if (c.cpuShare !== null) out['cpu_share'] = c.cpuShare;
  return out;
}

/** One runner instance in Iron's cluster-stats shape, with what our runners report besides. */
export function instanceJson(i: InstanceView): J {
  const live = i.state === 'idle' || i.state === 'busy';
  return {
    instance_id: i.instanceId,
    created_at: rfc3339(i.createdAt),
    updated_at: rfc3339(i.lastSeenAt),
    version: i.version,
    runners_available: live ? Math.max(0, i.slotsTotal - i.slotsBusy) : 0,
    runners_total: i.slotsTotal,
    type: 'LIVE',
    hostname: i.hostname,
    state: i.state,
    draining: i.draining,
    engine_version: i.engineVersion,
    started_at: i.startedAt === null ? null : rfc3339(i.startedAt),
    last_seen_at: rfc3339(i.lastSeenAt),
    slots_busy: i.slotsBusy,
  };
}
