// TEMPORARY (issue 14, branch i14-sandbox): writes TaskRun's lifecycle events as the log lines the
// runner wrote before, for the tests that still read the log ('task reserved', 'task finished').
// The runner's log subscriber (branch i14-events) replaces this file when the branches are merged.
import type { Logger } from '../log.js';
import type { RunnerEvents } from './events.js';

export function logTaskEvents(events: RunnerEvents, log: Logger): RunnerEvents {
  events.on('task.reserved', (e) => log.info({ task_id: e.taskId, image: e.image }, 'task reserved'));
  events.on('task.refused', (e) => log.warn({ task_id: e.taskId, code: e.code, why: e.why }, 'task refused; it is not run'));
  events.on('task.stopping', (e) => log.info({ task_id: e.taskId, reason: e.reason }, 'stopping task'));
  events.on('task.finished', (e) => log.info({
    task_id: e.taskId, status: e.status, reason: e.reason, exit_code: e.exitCode, duration_ms: e.durationMs, log_size: e.logBytes, age_ms: e.ageMs,
  }, 'task finished'));
  events.on('task.given_back', (e) => log.info({ task_id: e.taskId, why: e.why }, 'gave a task back'));
  events.on('task.give_back_failed', (e) => log.warn({ task_id: e.taskId, code: e.code }, 'could not give a task back; its lease will expire'));
  events.on('task.unreported', (e) => log.info({ task_id: e.taskId, reason: e.reason }, 'task no longer ours; not reporting'));
  events.on('task.report_failed', (e) => log.error({ task_id: e.taskId, status: e.status, code: e.code }, 'could not deliver the task outcome'));
  events.on('task.crashed', (e) => log.error({ task_id: e.taskId, err: e.err }, 'task failed inside the runner'));
  return events;
}
