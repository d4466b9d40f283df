// The rules of a task's life that are not SQL: when a task counts as held by its runner, what a
// runner's start and finish do, what a lease that ran out does, when a failed task is retried and
// what the retry looks like. The store applies them inside its transactions (store/ports.ts,
// TaskRules); nothing else decides them.
import type { TaskRules } from '../store/ports.js';
import type { FinishInput, FinishPlan, LeaseLostAction, NewTask, RetrySettings, StartPlan, Task } from '../store/records.js';

/** Statuses whose end triggers the code's `retries` (IronWorker: failures, not cancels or kills). */
const RETRIED_STATUSES: ReadonlySet<string> = new Set(['error', 'timeout']);

/** A retry of `t`: a new task with the same code, cluster, payload and options, linked to `t`. */
export function retryOf(t: Task, delay: number): NewTask {
  return {
    projectId: t.projectId,
    codeId: t.codeId,
    clusterId: t.clusterId,
    priority: t.priority,
    timeout: t.timeout,
    delay,
    payload: t.payload,
    label: t.label,
    scheduleId: t.scheduleId,
    retryOf: t.id,
    retryCount: t.retryCount + 1,
  };
}

/** `maxAttempts`: lease losses after which a task ends `error` "runner lost" instead of being queued again. */
export function taskRules(maxAttempts: number): TaskRules {
  const held = (t: Task): boolean => t.status === 'preparing' || t.status === 'running' || t.cancelPending;
  return {
    held,
    // The stores apply the 'start' case in one statement (START_PREPARING in store/*/runner.ts: this
    // reservation, no cancel pending, preparing) and call this for every other case: keep them in step.
    start: (t, reservationId): StartPlan => {
      if (t.reservationId !== reservationId) return 'superseded';
      // The user cancelled while the image was pulled: the runner must not run it.
      if (t.cancelPending) return 'cancelled';
      if (t.status === 'running') return 'running';
      return t.status === 'preparing' ? 'start' : 'superseded';
    },
    finish: (t, f: FinishInput, now): FinishPlan => {
      if (t.reservationId !== f.reservationId) return { kind: 'superseded' };
      const markTruncated = f.logTruncated === true && held(t);
      const logSize = Math.max(t.logSize, f.logSize ?? 0);
      if (t.cancelPending) return { kind: 'close_cancel', markTruncated, exitCode: f.exitCode, duration: f.durationMs, logSize };
      if (t.status !== 'preparing' && t.status !== 'running') return { kind: 'repeat' };
      if (f.status === 'requeue') return { kind: 'requeue', markTruncated };
      // A task finished before its start (payload refused, image pull failed) never ran: it keeps
      // start_time and duration null, so nobody reads a run into a task that had none.
      const duration = t.startTime === null ? null : (f.durationMs ?? now - t.startTime);
      return { kind: 'end', markTruncated, status: f.status, msg: f.msg, exitCode: f.exitCode, duration, logSize };
    },
    leaseLost: (t): LeaseLostAction => {
      // The user's cancel already decided the status; the runner's lease only kept its report open.
      if (t.cancelPending) return 'release_cancel';
      return t.lostCount + 1 >= maxAttempts ? 'fail' : 'requeue';
    },
    codeRetry: (t, code: RetrySettings) => (RETRIED_STATUSES.has(t.status) && t.retryCount < code.retries ? retryOf(t, code.retriesDelay) : null),
  };
}
