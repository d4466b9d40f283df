// The rules of a task's life that are not SQL: when a task counts as held by its runner, what a
// lease that ran out does, when a failed task is retried and what the retry looks like. The store
// applies them inside its transactions (store/ports.ts, TaskRules); nothing else decides them.
import type { TaskRules } from '../store/ports.js';
import type { LeaseLostAction, NewTask, RetrySettings, Task } from '../store/records.js';

/** Statuses whose end triggers the code's `retries` (IronWorker: failures, not cancels or kills). */
const RETRIED_STATUSES: ReadonlySet<string> = new Set(['error', 'timeout']);

/** A retry of `t`: a new task with the same code, cluster, payload and options, linked to `t`. */
export function retryOf(t: Task, delay: number): NewTask {
  return {
    projectId: t.projectId, codeId: t.codeId, clusterId: t.clusterId, priority: t.priority, timeout: t.timeout, delay,
    payload: t.payload, label: t.label, scheduleId: t.scheduleId, retryOf: t.id, retryCount: t.retryCount + 1,
  };
}

/** `maxAttempts`: lease losses after which a task ends `error` "runner lost" instead of being queued again. */
export function taskRules(maxAttempts: number): TaskRules {
  return {
    held: (t) => t.status === 'preparing' || t.status === 'running' || t.cancelPending,
    leaseLost: (t): LeaseLostAction => {
      // The user's cancel already decided the status; the runner's lease only kept its report open.
      if (t.cancelPending) return 'release_cancel';
      return t.lostCount + 1 >= maxAttempts ? 'fail' : 'requeue';
    },
    codeRetry: (t, code: RetrySettings) =>
      RETRIED_STATUSES.has(t.status) && t.retryCount < code.retries ? retryOf(t, code.retriesDelay) : null,
  };
}
