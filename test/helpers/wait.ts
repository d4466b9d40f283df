// The one polling waiter of the tests: for state that has no event to wait on (a task's status in the
// API, a container on the engine, a file). It polls `fn` until it returns a value, and on timeout says
// what was awaited (and, through a `what` function, the last state seen), never just "timed out".
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** Default 10 s. */
  timeoutMs?: number;
  /** Pause between polls; default 100 ms. */
  everyMs?: number;
  /** Ends the wait early: it rejects once the signal is aborted. */
  signal?: AbortSignal;
}

/**
 * Polls `fn` until it returns something other than `undefined` or `false`, and resolves with it. An
 * error thrown by `fn` ends the wait (catch inside `fn` what may fail while polling). `what` names
 * the awaited state in the timeout error; a function is called then, so it can add the last value.
 */
export async function waitFor<T>(what: string | (() => string), fn: () => Promise<T | undefined | false> | T | undefined | false, opts: WaitOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    opts.signal?.throwIfAborted();
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(Math.min(opts.everyMs ?? 100, Math.max(0, deadline - Date.now())), undefined, opts.signal === undefined ? {} : { signal: opts.signal });
  }
}
