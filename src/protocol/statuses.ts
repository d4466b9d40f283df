// Task statuses as both sides of the API name them: the project API shows them, the runner protocol
// reports the final ones in finish. One list each, so the server, the client and the CLI agree.

export const TASK_STATUSES = ['queued', 'preparing', 'running', 'complete', 'error', 'cancelled', 'timeout', 'killed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Statuses after which a task never changes again. */
export const FINAL_STATUSES = ['complete', 'error', 'cancelled', 'timeout', 'killed'] as const satisfies readonly TaskStatus[];
export type FinalStatus = (typeof FINAL_STATUSES)[number];

/** Statuses a runner may report in finish: a final one, or `requeue` (give the task back), which is not a status. */
export const FINISH_STATUSES = [...FINAL_STATUSES, 'requeue'] as const;
export type FinishStatus = (typeof FINISH_STATUSES)[number];

export function isFinalStatus(status: string): status is FinalStatus {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}

export function isFinishStatus(status: string): status is FinishStatus {
  return (FINISH_STATUSES as readonly string[]).includes(status);
}
