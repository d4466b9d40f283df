// Retry policy for API calls: jittered, capped exponential backoff. The policy is per call because
// the callers want opposite things: the runner's finish/log calls must survive an API restart of
// minutes (retry until delivered or aborted), while a CLI user wants an answer after a few seconds.
import { setTimeout as delay } from 'node:timers/promises';
import { abortError, isRetryable } from '../errors.js';

export interface RetryPolicy {
  /** Total attempts including the first; Infinity = until it succeeds, fails permanently or is aborted. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

// The one home of every retry policy and its name. `*_RETRY` policies drive `withRetry` around one
// call; `*_BACKOFF` policies only pace a loop the caller owns (`backoff()` between its iterations).

/** Interactive use: give up after a few tries (about 5 s of waiting in total). */
export const CLI_RETRY: RetryPolicy = Object.freeze({ maxAttempts: 4, baseDelayMs: 300, maxDelayMs: 3_000 });
/**
 * Runner calls whose loss would lose data (finish, log): keep trying until delivered or aborted.
 * Capped low so that an API back from a restart is used within seconds.
 */
export const DELIVER_RETRY: RetryPolicy = Object.freeze({ maxAttempts: Infinity, baseDelayMs: 200, maxDelayMs: 2_000 });
/** One-off runner calls whose failure has a fallback (start refused -> not run; give-back lost -> lease expiry). */
export const SHORT_RETRY: RetryPolicy = Object.freeze({ maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 2_000 });
/** Calls whose caller has its own loop (the runner's reserve poll). */
export const NO_RETRY: RetryPolicy = Object.freeze({ maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 });
/** The runner's own loops (reserve poll, engine wait): never a long "unhealthy" sleep after an outage. */
export const POLL_BACKOFF: RetryPolicy = Object.freeze({ maxAttempts: Infinity, baseDelayMs: 100, maxDelayMs: 3_000 });
/** Wrong credentials will not fix themselves quickly: keep polling, but slowly. */
export const AUTH_BACKOFF: RetryPolicy = Object.freeze({ maxAttempts: Infinity, baseDelayMs: 5_000, maxDelayMs: 30_000 });

/**
 * Delay before retry number `attempt` (1 = the first retry): "equal jitter", half fixed and half
 * random, so many clients that failed together spread out but none retries immediately.
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

/** Sleeps, rejecting with the signal's abort error (stable code) when aborted. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw abortError(signal);
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    if (signal.aborted) throw abortError(signal);
    throw err;
  }
}

/** The pause before iteration `attempt` of a caller-owned loop: jittered, so runners that failed together spread out. */
export async function backoff(attempt: number, policy: RetryPolicy, signal: AbortSignal): Promise<void> {
  await sleep(backoffDelayMs(Math.max(1, attempt), policy), signal);
}

export interface RetryHooks {
  /** Called before each wait; `err` is what failed. For logging only. */
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
  /** A server-requested minimum wait (Retry-After), in ms, if the error carries one. */
  minWaitMs?: (err: unknown) => number | undefined;
  /** Overrides which errors are retried (default: `isRetryable`). */
  shouldRetry?: (err: unknown) => boolean;
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy, signal: AbortSignal, hooks: RetryHooks = {}): Promise<T> {
  const shouldRetry = hooks.shouldRetry ?? isRetryable;
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw abortError(signal);
    try {
      return await fn(attempt);
    } catch (err) {
      if (signal.aborted) throw abortError(signal);
      if (attempt >= policy.maxAttempts || !shouldRetry(err)) throw err;
      const wanted = hooks.minWaitMs?.(err);
      const base = backoffDelayMs(attempt, policy);
      const waitMs = wanted === undefined ? base : Math.min(Math.max(base, wanted), Math.max(policy.maxDelayMs, base));
      hooks.onRetry?.(err, attempt, waitMs);
      await sleep(waitMs, signal);
    }
  }
}
