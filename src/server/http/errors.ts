// Maps the server's error codes to HTTP statuses and Iron's `{"msg": ...}` error body.
import { IronError, type ErrorCode } from '../../errors.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  ERR_SERVER_BAD_REQUEST: 400,
  ERR_SERVER_UNAUTHORIZED: 401,
  ERR_SERVER_FORBIDDEN: 403,
  ERR_SERVER_NOT_FOUND: 404,
  ERR_SERVER_METHOD: 405,
  ERR_SERVER_CONTENT_TYPE: 406,
  ERR_SERVER_CONFLICT: 409,
  ERR_SERVER_TOO_LARGE: 413,
  ERR_SERVER_CLOSING: 503,
  ERR_ZIP_INVALID: 400,
  ERR_ZIP_PATH: 400,
  ERR_ZIP_RESERVED: 400,
  ERR_ZIP_SYMLINK: 400,
  ERR_ZIP_DUPLICATE: 400,
  ERR_ZIP_TOO_MANY_ENTRIES: 400,
  ERR_ZIP_TOO_LARGE: 400,
  ERR_ZIP_BOMB: 400,
  ERR_SERVER_TIMEOUT: 408,
  ERR_SERVER_BUSY: 503,
  // The database is unreachable from this replica and the request changed nothing: a runner or a
  // load balancer moves to another replica (src/api/replicas.ts fails over on 503).
  ERR_STORE_UNAVAILABLE: 503,
  // The task's log reached the API's cap: the runner stops shipping and still reports the outcome.
  ERR_SERVER_LOG_LIMIT: 413,
  ERR_SERVER_QUOTA: 403,
};

export function statusOf(err: unknown): number {
  if (err instanceof IronError) return STATUS[err.code] ?? 500;
  return 500;
}

/** The body sent for an error: the message only for 4xx; 5xx never leak internals. */
export function bodyOf(err: unknown, status: number): Record<string, unknown> {
  if (status >= 500 && status !== 503) return { msg: 'Internal server error' };
  if (err instanceof IronError) {
    const extra: Record<string, unknown> = {};
    // A log offset mismatch tells the runner where to resume (protocol: 409 {"msg","size"}).
    if (typeof err.details['size'] === 'number') extra['size'] = err.details['size'];
    // A 409 says why: `superseded` (drop the task) or `cancelled` (do not run it).
    if (typeof err.details['reason'] === 'string') extra['reason'] = err.details['reason'];
    // A refused code package says which rule it broke, as a code clients can match on.
    if (err.code.startsWith('ERR_ZIP_')) extra['code'] = err.code;
    return { msg: err.message, ...extra };
  }
  return { msg: 'Internal server error' };
}

export const badRequest = (msg: string): IronError => new IronError('ERR_SERVER_BAD_REQUEST', msg);
export const notFound = (msg: string): IronError => new IronError('ERR_SERVER_NOT_FOUND', msg);
export const forbidden = (msg: string): IronError => new IronError('ERR_SERVER_FORBIDDEN', msg);
export const conflict = (msg: string, details?: Record<string, number | string>): IronError => new IronError('ERR_SERVER_CONFLICT', msg, details === undefined ? {} : { details });
