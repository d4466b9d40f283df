// What the runner knows of its API: when it last answered, and what the last failed call met. The
// startup check and the poll loop write it; /readyz (readiness.ts) reads it through the runner.
import { describeApi, type RunnerConfig } from '../config/runner.js';
import { errorCodeOf, isIronError, toError } from '../errors.js';

/** Why a call failed, for operators (e.g. a TLS verification error): the API client's messages carry no secrets. */
export interface ApiFailure {
  readonly code: string;
  readonly reason: string;
}

/** The API answered, but refused these credentials (or knows no such cluster). */
export const AUTH_CODES: ReadonlySet<string> = new Set(['ERR_API_UNAUTHORIZED', 'ERR_API_FORBIDDEN', 'ERR_API_NOT_FOUND']);

export class ApiHealth {
  private lastOk = 0;
  private failure: ApiFailure | undefined;

  constructor(private readonly config: Readonly<RunnerConfig>) {}

  answered(): void {
    this.lastOk = Date.now();
    this.failure = undefined;
  }

  /** Records a failed call; returns its code and reason. */
  failed(err: unknown): ApiFailure {
    const f = { code: errorCodeOf(err), reason: failureReason(err) };
    this.failure = f;
    return f;
  }

  /** undefined when the API answered within `withinMs`; else what the last call met. */
  problem(withinMs = 60_000): string | undefined {
    const f = this.failure;
    const api = describeApi(this.config);
    if (f === undefined) return Date.now() - this.lastOk < withinMs ? undefined : `no answer from the API at ${api} yet`;
    if (AUTH_CODES.has(f.code)) return `the API at ${api} refused the cluster credentials (${f.code}, ${f.reason}): check CLUSTER_ID / CLUSTER_TOKEN`;
    return `API unreachable at ${api}: ${f.reason} (${f.code})`;
  }
}

function failureReason(err: unknown): string {
  if (isIronError(err)) return typeof err.details['reason'] === 'string' ? err.details['reason'] : err.message;
  return toError(err).message;
}
