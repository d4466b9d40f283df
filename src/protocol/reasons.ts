// Why the server refused a runner call, in the `reason` field of the error body (docs/protocol.md).
// The runner acts on these values, never on the message text.

/** 409 reasons of the runner calls: the reservation is not this runner's any more, the user cancelled, the task ended. */
export const CONFLICT_REASONS = ['superseded', 'cancelled', 'finished'] as const;
export type ConflictReason = (typeof CONFLICT_REASONS)[number];

/** 413 on log append: the task's log is at the API's cap; stop shipping, finish as usual. */
export const LOG_LIMIT_REASON = 'log_limit';
