// Turns a non-success HTTP answer or a transport failure into an IronError with a stable code.
// Messages carry the method, path and the server's `msg` (never headers, so never the token).
import { IronError, type ErrorCode } from '../errors.js';

type Details = Record<string, string | number | boolean | null>;

const MAX_SERVER_MSG = 300;

export interface FailedResponse {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** The raw response body, already consumed (possibly truncated). */
  readonly body: string;
  readonly retryAfter?: string | undefined;
}

function codeForStatus(status: number): { code: ErrorCode; retryable?: boolean } {
  switch (status) {
    case 400:
    case 406:
    case 413:
    case 422:
      return { code: 'ERR_API_BAD_REQUEST' };
    case 401:
      return { code: 'ERR_API_UNAUTHORIZED' };
    case 403:
      return { code: 'ERR_API_FORBIDDEN' };
    case 404:
      return { code: 'ERR_API_NOT_FOUND' };
    case 409:
    case 416:
      return { code: 'ERR_API_CONFLICT' };
    // 408 and every 5xx mean "not processed, try again"; other 4xx would fail the same way again.
    case 408:
      return { code: 'ERR_API_UNAVAILABLE' };
    default:
      if (status >= 500) return { code: 'ERR_API_UNAVAILABLE' };
      return { code: 'ERR_API_RESPONSE' };
  }
}

/** The server's JSON error body (`{"msg": ...}` plus fields such as `size`), if it is one. */
function parseErrorBody(body: string): { msg?: string; fields: Details } {
  const fields: Details = {};
  let msg: string | undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
        if (k === 'msg' && typeof v === 'string') msg = v;
        // Scalars only: they are facts (size, status, id), never nested payloads.
        else if (typeof v === 'number' || typeof v === 'boolean' || v === null) fields[k] = v;
        else if (typeof v === 'string' && v.length <= 100) fields[k] = v;
      }
    }
  } catch {
    const text = body.trim();
    if (text !== '' && !text.startsWith('<')) msg = text;
  }
  return msg === undefined ? { fields } : { msg: msg.slice(0, MAX_SERVER_MSG), fields };
}

/** Retry-After in ms (seconds or an HTTP date), if present and sane. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function responseError(res: FailedResponse): IronError {
  const { code, retryable } = codeForStatus(res.status);
  const { msg, fields } = parseErrorBody(res.body);
  const details: Details = { ...fields, status: res.status, method: res.method, path: res.path };
  const wait = retryAfterMs(res.retryAfter);
  if (wait !== undefined) details.retry_after_ms = wait;
  const text = `${res.method} ${res.path}: HTTP ${res.status}${msg === undefined || msg === '' ? '' : `: ${msg}`}`;
  return new IronError(code, text, retryable === undefined ? { details } : { details, retryable });
}

/** A failure before any HTTP answer (refused, reset, DNS, TLS, timeouts). */
export function networkError(method: string, origin: string, path: string, cause: unknown): IronError {
  const sysCode = (cause as { code?: unknown } | null)?.code;
  const reason = typeof sysCode === 'string' ? sysCode : cause instanceof Error ? cause.message : 'unknown error';
  // A certificate the client does not trust fails the same way every time: not worth retrying.
  const tlsTrust = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(reason);
  return new IronError('ERR_API_NETWORK', `${method} ${path}: cannot reach the API at ${origin} (${reason})`, {
    cause,
    retryable: !tlsTrust,
    details: { method, path, origin, reason },
  });
}
