// The runner's log as a subscriber of its lifecycle events: every event becomes one structured line
// with the level, message and fields operators know, plus `event: '<name>'`, the stable key that
// tests and log queries match on (messages may be reworded; event names may not).
import { formatSize } from '../config/units.js';
import type { Logger } from '../log.js';
import type { RunnerEventMap, RunnerEventName, RunnerEvents } from './events.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

/** One log line; undefined writes none (a repeat the log leaves out, see `api.failed`). */
interface Line {
  level: Level;
  msg: string;
  fields?: Record<string, unknown>;
}

type Renderers = { [K in RunnerEventName]: (e: RunnerEventMap[K]) => Line | undefined };

/** The component label a line carries (the child loggers of heartbeat, warm-up and code cache before events). */
const COMPONENT: Partial<Record<RunnerEventName, string>> = {
  'heartbeat.failed': 'heartbeat',
  'image.warmed': 'warm-up',
  'image.warm_failed': 'warm-up',
  'code.downloaded': 'code-cache',
  'code.evicted': 'code-cache',
  'code.evict_failed': 'code-cache',
};

const RENDER: Renderers = {
  'api.connected': (e) => ({ level: 'info', msg: 'cluster found; polling for tasks', fields: { cluster_id: e.clusterId, cluster_name: e.clusterName, api: e.api } }),
  'api.failed': (e) => {
    if (e.phase === 'cluster') {
      return e.auth
        ? { level: 'error', msg: 'the API refused the cluster credentials; check CLUSTER_ID / CLUSTER_TOKEN (retrying)', fields: { phase: e.phase, code: e.code } }
        : { level: 'warn', msg: 'could not reach the API; retrying', fields: { phase: e.phase, code: e.code, reason: e.reason, api: e.api, attempt: e.attempt } };
    }
    if (e.auth) return { level: 'error', msg: 'reserve refused; check CLUSTER_ID / CLUSTER_TOKEN (retrying slowly)', fields: { phase: e.phase, code: e.code } };
    // A long outage fails the reserve every few seconds: the first failure and every 20th are enough.
    if (e.attempt !== 1 && e.attempt % 20 !== 0) return undefined;
    return { level: 'warn', msg: 'reserve failed; backing off', fields: { phase: e.phase, code: e.code, reason: e.reason, api: e.api, failures: e.attempt } };
  },
  'api.failover': (e) => ({ level: 'warn', msg: 'API replica failed; using the next one', fields: { from: e.from, to: e.to, reason: e.reason } }),
  'endpoints.listening': (e) => ({ level: 'info', msg: 'health and metrics endpoints listening', fields: { addr: e.addr } }),
  'engine.waiting': (e) => {
    // The first failure and then every 10th: a slow engine start is normal, a missing one is not.
    if (e.attempt !== 1 && e.attempt % 10 !== 0) return undefined;
    return { level: 'warn', msg: 'docker engine not reachable yet; retrying', fields: { code: e.code, reason: e.reason, engine: e.engine, attempt: e.attempt } };
  },
  'engine.down': () => ({ level: 'error', msg: 'docker engine unreachable: not taking tasks until it answers again' }),
  'engine.up': () => ({ level: 'info', msg: 'docker engine answers again; taking tasks' }),
  'engine.reap_failed': (e) => ({ level: 'warn', msg: 'could not remove leftovers after the engine came back', fields: { code: e.code } }),
  'config.warning': (e) => ({
    level: 'warn',
    fields: e.detail,
    msg:
      e.what === 'cluster_memory'
        ? 'the cluster asks more memory per task than MEMORY_PER_JOB; tasks run with MEMORY_PER_JOB (a task needing more is killed: out of memory)'
        : 'CONCURRENCY x MEMORY_PER_JOB is more than the memory for jobs; a task starts only when its memory is free',
  }),
  'task.reserved': (e) => ({ level: 'info', msg: 'task reserved', fields: { image: e.image } }),
  'task.refused': (e) => ({ level: 'warn', msg: 'task refused; it is not run', fields: { code: e.code, why: e.why } }),
  'task.starting': () => ({ level: 'debug', msg: 'task starting' }),
  'task.stopping': (e) => ({ level: 'info', msg: 'stopping task', fields: { reason: e.reason } }),
  'task.finished': (e) => ({
    level: 'info',
    msg: 'task finished',
    fields: { status: e.status, reason: e.reason, exit_code: e.exitCode, duration_ms: e.durationMs, log_size: e.logBytes, age_ms: e.ageMs },
  }),
  'task.unreported': (e) => ({ level: 'info', msg: 'task no longer ours; not reporting', fields: { reason: e.reason } }),
  'task.report_failed': (e) =>
    e.code === 'ERR_API_CONFLICT'
      ? { level: 'warn', msg: 'finish refused: the reservation was superseded; dropping the report', fields: { status: e.status } }
      : { level: 'error', msg: 'could not deliver the task outcome', fields: { status: e.status, code: e.code } },
  'task.given_back': (e) => ({ level: 'info', msg: 'gave a task back', fields: { why: e.why } }),
  'task.give_back_failed': (e) => ({ level: 'warn', msg: 'could not give a task back; its lease will expire', fields: { code: e.code } }),
  'task.fenced': () => ({ level: 'warn', msg: 'lease could not be renewed in time; stopping the task (fencing)' }),
  'task.crashed': (e) => ({ level: 'error', msg: 'task failed inside the runner', fields: { err: e.err } }),
  'task.released': () => ({ level: 'debug', msg: 'task slot free' }),
  'heartbeat.failed': (e) => ({ level: 'warn', msg: 'heartbeat failed; leases are renewed on the next beat', fields: { code: e.code, tasks: e.tasks } }),
  'runner.starting': (e) => ({
    level: 'info',
    msg: 'iron-runner starting',
    fields: {
      version: e.version,
      instance_id: e.instanceId,
      cluster_id: e.clusterId,
      api: e.api,
      concurrency: e.concurrency,
      concurrency_from: e.concurrencyFrom,
      memory_per_job: e.memoryPerJob,
      jobs_memory: e.jobsMemory,
      encrypted_payloads: e.encryptedPayloads,
    },
  }),
  'runner.signal': (e) =>
    e.count === 1
      ? { level: 'info', msg: 'signal received: draining (send it again to give running tasks back now)', fields: { signal: e.signal } }
      : { level: 'warn', msg: 'second signal: giving running tasks back now', fields: { signal: e.signal } },
  'runner.draining': (e) => ({ level: 'info', msg: 'draining: no new tasks; running tasks may finish', fields: { running: e.running, drain_timeout_ms: e.drainTimeoutMs } }),
  'runner.giving_back': (e) => ({ level: 'warn', msg: 'stopping running tasks and giving them back', fields: { tasks: e.tasks, why: e.why } }),
  'runner.drained': () => ({ level: 'info', msg: 'drained' }),
  'runner.stopped': () => ({ level: 'info', msg: 'iron-runner stopped cleanly' }),
  'image.pulled': (e) => ({ level: 'info', msg: 'image pulled', fields: { image: e.image, ms: e.ms } }),
  'image.evicted': (e) => ({
    level: 'info',
    msg: 'image cache: evicted least recently used images',
    fields: { removed: e.removed, remaining: formatSize(e.remainingBytes), limit: formatSize(e.limitBytes) },
  }),
  'image.warmed': (e) => ({ level: 'info', msg: 'image warmed', fields: { image: e.image, project_id: e.projectId, ms: e.ms } }),
  'image.warm_failed': (e) => ({
    level: 'warn',
    msg: 'image warm-up failed',
    fields: { image: e.image, project_id: e.projectId, ...(e.reason === undefined ? {} : { reason: e.reason }), ...(e.code === undefined ? {} : { code: e.code }) },
  }),
  'code.downloaded': (e) => ({ level: 'info', msg: 'code package downloaded', fields: { sha256: e.sha256, bytes: e.bytes } }),
  'code.evicted': (e) => ({ level: 'info', msg: 'code package evicted from the cache', fields: { sha256: e.sha256, bytes: e.bytes } }),
  'code.evict_failed': (e) => ({ level: 'warn', msg: 'code package not removed from the cache', fields: { sha256: e.sha256, err: e.err } }),
};

/**
 * Writes every runner event to `log`; returns the unsubscribe. Lines of one task carry `task_id`,
 * `code_name` and `attempt`: the last two are remembered from its `task.reserved` until its last
 * run's `task.released` (events name only the task; a task reserved again here shows the newer attempt).
 */
export function subscribeLog(events: RunnerEvents, log: Logger): () => void {
  // Per task: the newest reservation's labels, and how many runs of it hold a slot here.
  const tasks = new Map<string, { labels: { code_name: string; attempt: number }; runs: number }>();
  return events.onAny((name, e) => {
    if (name === 'task.reserved') {
      const r = e as RunnerEventMap['task.reserved'];
      tasks.set(r.taskId, { labels: { code_name: r.codeName, attempt: r.attempt }, runs: (tasks.get(r.taskId)?.runs ?? 0) + 1 });
    }
    const line = (RENDER[name] as (e: RunnerEventMap[typeof name]) => Line | undefined)(e);
    const taskId = 'taskId' in e && typeof e.taskId === 'string' ? e.taskId : undefined;
    if (line !== undefined) {
      const component = COMPONENT[name];
      log[line.level](
        {
          event: name,
          ...(component === undefined ? {} : { component }),
          ...(taskId === undefined ? {} : { task_id: taskId, ...tasks.get(taskId)?.labels }),
          ...line.fields,
        },
        line.msg,
      );
    }
    if (name === 'task.released' && taskId !== undefined) {
      const held = tasks.get(taskId);
      if (held !== undefined && --held.runs <= 0) tasks.delete(taskId);
    }
  });
}
