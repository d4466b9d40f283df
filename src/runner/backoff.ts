// Jittered, capped backoff for the runner's own loops (reserve, startup checks): never a long
// "unhealthy" sleep after an outage, never a synchronized stampede of runners.
import { backoffDelayMs, sleep, type RetryPolicy } from '../api/index.js';

export const POLL_BACKOFF: RetryPolicy = Object.freeze({ maxAttempts: Infinity, baseDelayMs: 100, maxDelayMs: 3_000 });
/** One-off calls whose failure has a fallback (start refused -> not run; give-back lost -> lease expiry). */
export const SHORT_RETRY: RetryPolicy = Object.freeze({ maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 2_000 });
/** Wrong credentials will not fix themselves quickly; retry, but slowly. */
export const AUTH_BACKOFF: RetryPolicy = Object.freeze({ maxAttempts: Infinity, baseDelayMs: 5_000, maxDelayMs: 30_000 });

export async function backoff(attempt: number, policy: RetryPolicy, signal: AbortSignal): Promise<void> {
  await sleep(backoffDelayMs(Math.max(1, attempt), policy), signal);
}
