// Limits of the runner protocol (docs/protocol.md) that both sides check: the server refuses past
// them (400/413), the client refuses to send past them, the runner clamps to them.

/** IronWorker's default and maximum task timeout, seconds (a task asking 0 or more gets this). */
export const MAX_TIMEOUT_S = 3600;
/** Tasks one reserve may ask for (`n`). */
export const MAX_RESERVE_N = 100;
/** Longest reserve long-poll (`wait`), seconds. */
export const MAX_RESERVE_WAIT_S = 30;
/** Tasks one heartbeat may list: a runner holds at most CONCURRENCY (≤ 1024) tasks. */
export const MAX_HEARTBEAT_TASKS = 1024;
/** Bytes of one log chunk (the body of a log append). */
export const MAX_LOG_CHUNK_BYTES = 8 * 1024 * 1024;
/** Decimal digits of a log offset: beyond 2^53 a JSON number is no longer the offset that was sent. */
export const MAX_LOG_OFFSET_DIGITS = 15;
/** Bytes of a runner's `instance_id`. */
export const MAX_INSTANCE_ID_BYTES = 128;
/** Bytes of a `reservation_id` (ids are 24 hex characters; the bound only keeps junk small). */
export const MAX_RESERVATION_ID_BYTES = 64;
/** Bytes of a warm-up cursor. */
export const MAX_WARM_CURSOR_BYTES = 64;
/**
 * Log bytes a finish-with-log may carry (`log_tail`): the last output of a task rides on its finish
 * instead of a log request of its own. The server offers it in reserve answers (`finish_log_max_bytes`).
 */
export const MAX_FINISH_LOG_BYTES = 64 * 1024;
/** Bytes of a finish `msg`. */
export const MAX_FINISH_MSG_BYTES = 4096;
/** Range of a finish `exit_code` (a 32-bit signed integer, as the engine reports it). */
export const EXIT_CODE_RANGE = Object.freeze({ min: -2_147_483_648, max: 2_147_483_647 });
/** Characters of the text fields of a heartbeat's `runner` report (hostname, versions, started_at). */
export const MAX_RUNNER_TEXT = 255;
/** Slots a runner may report (CONCURRENCY is at most 1024). */
export const MAX_RUNNER_SLOTS = 1024;
