// Turns whatever the Docker client throws into one IronError with a stable code. The engine's own
// message is kept in `details.engineMessage` because the Engine API has no error codes: a few
// job outcomes ("invalid image", "command not found") can only be told apart by its text.
import { isEngineUnreachableErrno } from '../errno.js';
import { IronError, abortError } from '../errors.js';

interface DockerishError {
  statusCode?: unknown;
  code?: unknown;
  json?: unknown;
  message?: unknown;
  name?: unknown;
}

/** The engine's message without dockerode's "(HTTP code N) reason - " prefix. */
export function engineMessageOf(err: unknown): string {
  if (err instanceof IronError) {
    const m = err.details['engineMessage'];
    return typeof m === 'string' ? m : err.message;
  }
  const e = (err ?? {}) as DockerishError;
  const json = e.json as { message?: unknown } | null | undefined;
  if (json !== null && typeof json === 'object' && typeof json.message === 'string') return json.message.trim();
  const msg = typeof e.message === 'string' ? e.message : String(err);
  return msg.replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, '').trim();
}

export function statusOf(err: unknown): number | undefined {
  if (err instanceof IronError) {
    const s = err.details['status'];
    return typeof s === 'number' ? s : undefined;
  }
  const s = (err as DockerishError | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** One engine call failed: classify it. An aborted signal always wins (the caller asked for it). */
export function engineError(op: string, err: unknown, signal?: AbortSignal): IronError {
  if (err instanceof IronError) return err;
  if (signal?.aborted === true) return abortError(signal);
  const e = (err ?? {}) as DockerishError;
  const status = statusOf(err);
  const engineMessage = engineMessageOf(err).slice(0, 500);
  if (status === undefined) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (e.name === 'AbortError' || code === 'ABORT_ERR') {
      return new IronError('ERR_ABORTED', `docker ${op} aborted`, { cause: err, details: { op } });
    }
    return new IronError('ERR_ENGINE_UNAVAILABLE', `container engine unreachable during ${op}${code === '' ? '' : ` (${code})`}`, {
      cause: err,
      retryable: code === '' || isEngineUnreachableErrno(code),
      details: { op, errno: code === '' ? null : code },
    });
  }
  return new IronError('ERR_ENGINE_FAILED', `docker ${op} failed (HTTP ${status}): ${engineMessage}`, {
    cause: err,
    retryable: status >= 500,
    details: { op, status, engineMessage },
  });
}

/** The call passed its deadline: the engine is hung or overloaded (retryable: the task is given back). */
export function deadlineError(op: string, deadlineMs: number, cause: unknown): IronError {
  return new IronError('ERR_ENGINE_TIMEOUT', `docker ${op} did not answer within ${deadlineMs} ms`, {
    cause,
    details: { op, deadline_ms: deadlineMs },
  });
}

/**
 * Runs one engine call and converts its failure. With a deadline, `fn` gets a signal that also fires
 * when the deadline passes, and that case is ERR_ENGINE_TIMEOUT (the caller's own abort still wins).
 */
export async function call<T>(op: string, signal: AbortSignal, fn: (signal: AbortSignal) => Promise<T>, deadlineMs?: number): Promise<T> {
  if (signal.aborted) throw abortError(signal);
  const deadline = deadlineMs === undefined ? undefined : AbortSignal.timeout(deadlineMs);
  const s = deadline === undefined ? signal : AbortSignal.any([signal, deadline]);
  let onAbort: (() => void) | undefined;
  // Not every dockerode call hands the signal to its request (image and network inspect drop it):
  // the caller is freed when the signal fires whether or not the request notices.
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(s.reason instanceof Error ? s.reason : new Error('aborted'));
    s.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    return await Promise.race([fn(s), aborted]);
  } catch (err) {
    if (!signal.aborted && deadline?.aborted === true && deadlineMs !== undefined) throw deadlineError(op, deadlineMs, err);
    throw engineError(op, err, signal);
  } finally {
    if (onAbort !== undefined) s.removeEventListener('abort', onAbort);
  }
}
