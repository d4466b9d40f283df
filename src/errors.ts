// One error family for the whole project. Callers match on `code`, never on `message`:
// messages may be reworded, codes are permanent (the undici / Node core rule).
// `retryable` separates transient failures (network, 5xx, engine hiccups) from permanent ones.
// docs/architecture.md has the table of every code (test/docs/error-codes.test.ts keeps it complete).
import { isTransientErrno } from './errno.js';

export interface ErrorSpec {
  /** A later identical attempt may succeed (network, 5xx, engine busy). */
  readonly retryable: boolean;
}

/** Every code the project uses. Add new codes here; never rename or reuse one. */
export const ERROR_CODES = {
  // configuration
  ERR_CONFIG_INVALID: { retryable: false },
  // payload crypto
  ERR_KEY_INVALID: { retryable: false },
  ERR_KEY_ENCRYPTED: { retryable: false },
  ERR_KEY_NOT_RSA: { retryable: false },
  ERR_KEY_NOT_PRIVATE: { retryable: false },
  ERR_KEY_NOT_PUBLIC: { retryable: false },
  ERR_KEY_TOO_SMALL: { retryable: false },
  ERR_PAYLOAD_NOT_BASE64: { retryable: false },
  ERR_PAYLOAD_TOO_SHORT: { retryable: false },
  ERR_PAYLOAD_WRONG_KEY_SIZE: { retryable: false },
  ERR_PAYLOAD_AUTH: { retryable: false },
  // API client (src/api/): one code per HTTP outcome class, so callers never look at status numbers
  ERR_API_UNAUTHORIZED: { retryable: false },
  ERR_API_FORBIDDEN: { retryable: false },
  ERR_API_NOT_FOUND: { retryable: false },
  ERR_API_CONFLICT: { retryable: false },
  ERR_API_BAD_REQUEST: { retryable: false },
  ERR_API_UNAVAILABLE: { retryable: true },
  ERR_API_NETWORK: { retryable: true },
  ERR_API_RESPONSE: { retryable: false },
  // iron CLI (src/cli/)
  ERR_CLI_USAGE: { retryable: false },
  ERR_CLI_NOT_CONFIGURED: { retryable: false },
  ERR_CLI_FILE: { retryable: false },
  ERR_TASK_FAILED: { retryable: false },
  // iron-api server (src/server/): each maps to one HTTP status in src/server/http/errors.ts
  ERR_SERVER_BAD_REQUEST: { retryable: false },
  ERR_SERVER_UNAUTHORIZED: { retryable: false },
  ERR_SERVER_FORBIDDEN: { retryable: false },
  ERR_SERVER_NOT_FOUND: { retryable: false },
  ERR_SERVER_METHOD: { retryable: false },
  ERR_SERVER_CONTENT_TYPE: { retryable: false },
  ERR_SERVER_CONFLICT: { retryable: false },
  ERR_SERVER_TOO_LARGE: { retryable: false },
  ERR_SERVER_CLOSING: { retryable: true },
  ERR_SERVER_TIMEOUT: { retryable: true },
  ERR_SERVER_BUSY: { retryable: true },
  ERR_SERVER_LOG_LIMIT: { retryable: false },
  ERR_SERVER_QUOTA: { retryable: false },
  ERR_STORE: { retryable: false },
  /** The database did not answer and nothing was changed: another replica (or a later try) may succeed. */
  ERR_STORE_UNAVAILABLE: { retryable: true },
  // code package zips (src/zip/): refused at upload (400) and again by the runner before unpacking
  ERR_ZIP_INVALID: { retryable: false },
  ERR_ZIP_PATH: { retryable: false },
  ERR_ZIP_RESERVED: { retryable: false },
  ERR_ZIP_SYMLINK: { retryable: false },
  ERR_ZIP_DUPLICATE: { retryable: false },
  ERR_ZIP_TOO_MANY_ENTRIES: { retryable: false },
  ERR_ZIP_TOO_LARGE: { retryable: false },
  ERR_ZIP_BOMB: { retryable: false },
  // code packages in the runner: download, checksum, cache
  ERR_CODE_CHECKSUM: { retryable: false },
  ERR_CODE_DOWNLOAD: { retryable: true },
  // sandbox (Docker engine)
  ERR_ENGINE_UNAVAILABLE: { retryable: true },
  ERR_ENGINE_FAILED: { retryable: true },
  /** An engine call passed its deadline, or the engine stopped answering /_ping (a hung engine). */
  ERR_ENGINE_TIMEOUT: { retryable: true },
  ERR_SANDBOX_SETUP: { retryable: false },
  // generic
  ERR_ABORTED: { retryable: false },
  ERR_TIMEOUT: { retryable: true },
  ERR_INVALID_ARGUMENT: { retryable: false },
  ERR_INTERNAL: { retryable: false },
  /**
   * Never thrown: the label logs and metrics give a failure that is not an IronError (a Node system
   * error, a bug's TypeError), so a `code` field is always one of these codes. See `errorCodeOf`.
   */
  ERR_UNKNOWN: { retryable: false },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

const BRAND = Symbol.for('iron-runner.IronError');

export interface IronErrorOptions {
  cause?: unknown;
  /** Overrides the code's default retryability (e.g. HTTP 503 vs 400 under one code). */
  retryable?: boolean;
  /** Safe, non-secret facts for logs and API responses (ids, sizes, statuses). */
  details?: Readonly<Record<string, string | number | boolean | null>>;
}

export class IronError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, string | number | boolean | null>>;

  constructor(code: ErrorCode, message: string, options: IronErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IronError';
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }

  // instanceof works across duplicated copies of the module (undici's trick).
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  get [BRAND](): true {
    return true;
  }

  toJSON(): { code: ErrorCode; message: string; retryable: boolean; details: IronError['details'] } {
    return { code: this.code, message: this.message, retryable: this.retryable, details: this.details };
  }
}

export function isIronError(value: unknown, code?: ErrorCode): value is IronError {
  return value instanceof IronError && (code === undefined || value.code === code);
}

/** The stable code of anything thrown, for log fields and metric labels (ERR_UNKNOWN when it has none). */
export function errorCodeOf(value: unknown): ErrorCode {
  return value instanceof IronError ? value.code : 'ERR_UNKNOWN';
}

/** Normalise anything thrown into an Error (graphile-worker's coerceError). */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : 'non-error thrown', { cause: value });
}

/** Is a failure worth retrying? Unknown errors are treated as transient only when they are network errors. */
export function isRetryable(value: unknown): boolean {
  if (value instanceof IronError) return value.retryable;
  return isTransientErrno((value as { code?: unknown } | null)?.code);
}

/** The AbortSignal's reason as an error with a stable code. */
export function abortError(signal: AbortSignal): IronError {
  const reason: unknown = signal.reason;
  if (reason instanceof IronError) return reason;
  return new IronError('ERR_ABORTED', 'operation aborted', { cause: reason });
}
