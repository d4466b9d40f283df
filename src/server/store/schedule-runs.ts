// The arithmetic of a schedule's runs, shared by both stores: where a schedule goes after a run came
// due, and after its fields were replaced. Pure functions; the stores apply them inside their
// transactions.
import type { NewSchedule, NewTask, Schedule } from './records.js';

export interface AfterRun {
  readonly runCount: number;
  readonly next: number | null;
  readonly status: Schedule['status'];
  readonly msg: string;
}

/** After the run due at `s.nextStart` (queued or skipped with `msg`), at `now`. */
export function afterRun(s: Schedule, now: number, queuedOne: boolean, msg: string): AfterRun {
  const runCount = s.runCount + (queuedOne ? 1 : 0);
  let next: number | null = null;
  if (s.runEvery !== null) {
    next = (s.nextStart ?? now) + s.runEvery * 1000;
    // After downtime, missed runs are not replayed one by one: the next run is the next slot after now.
    if (next <= now) next = now + s.runEvery * 1000 - ((now - next) % (s.runEvery * 1000));
  }
  if (next === null || (s.runTimes > 0 && runCount >= s.runTimes) || (s.endAt !== null && next > s.endAt)) {
    return { runCount, next: null, status: 'complete', msg: msg === '' ? 'Ran max times.' : msg };
  }
  return { runCount, next, status: 'scheduled', msg };
}

/** A scheduled schedule whose fields become `s`: runs so far stay counted, the next run follows the new fields. */
export function afterUpdate(before: Schedule, s: NewSchedule, now: number): { next: number | null; status: Schedule['status']; msg: string } {
  let next: number | null = s.startAt;
  if (before.runCount > 0) next = s.runEvery === null ? null : Math.max(now, (before.lastRunTime ?? now) + s.runEvery * 1000);
  const done = next === null || (s.runTimes > 0 && before.runCount >= s.runTimes) || (s.endAt !== null && next > s.endAt);
  return done ? { next: null, status: 'complete', msg: 'Ran max times.' } : { next, status: 'scheduled', msg: before.msg };
}

/** The message of a run skipped because its code is gone, or because the schedule is at its max_concurrency. */
export function skippedRun(s: Schedule, now: number, codeFound: boolean, busy: number): string {
  // Keep the schedule: the code may be registered again; this run is skipped and said so.
  if (!codeFound) return `code ${s.codeName} not found at ${new Date(now).toISOString()}`;
  // max_concurrency: a run that comes due while that many of the schedule's tasks are still
  // unfinished is skipped, not queued behind them, so a slow task never piles up a backlog.
  if (s.maxConcurrency !== null && busy >= s.maxConcurrency) {
    return `run at ${new Date(now).toISOString()} skipped: ${busy} task(s) of this schedule unfinished (max_concurrency ${s.maxConcurrency})`;
  }
  return '';
}

/** The task a due run of `s` queues, for the code found by the schedule's code name. */
export function scheduledTask(s: Schedule, codeId: string, defaultPriority: number | null): NewTask {
  return {
    projectId: s.projectId,
    codeId,
    clusterId: s.clusterId,
    priority: s.priority ?? defaultPriority ?? 0,
    timeout: s.timeout,
    delay: s.delay,
    payload: s.payload,
    label: s.label,
    scheduleId: s.id,
  };
}
