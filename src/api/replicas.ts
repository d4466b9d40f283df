// Several replicas of one iron-api (one database behind them): which one calls go to, and when to
// move to the next. Calls stick to the replica that answered last (no round-robin churn: keep-alive
// connections stay warm and a runner's calls land where its reserve is parked); a connection failure
// or a 503 moves every later call to the next replica in the given order. Whether a failed call may
// be repeated on the next replica at all is the caller's rule (src/api/http.ts: idempotent calls
// always, others only when the request cannot have been acted on).
import { IronError, isIronError } from '../errors.js';

export interface Target {
  /** `scheme://host:port` */
  readonly origin: string;
  /** Path prefix without a trailing slash ('' for none). */
  readonly prefix: string;
}

export interface FailoverEvent {
  readonly from: string;
  readonly to: string;
  /** What the replica left behind met: an errno-like code (ECONNREFUSED, UND_ERR_SOCKET) or `HTTP 503`. */
  readonly reason: string;
}

/** Validates every base URL once (ERR_INVALID_ARGUMENT names the bad one). */
export function parseBaseUrls(input: string | URL | ReadonlyArray<string | URL>): Target[] {
  const list = typeof input === 'string' || input instanceof URL ? [input] : input;
  if (list.length === 0) throw new IronError('ERR_INVALID_ARGUMENT', 'at least one API URL is needed');
  return list.map((raw) => {
    let url: URL;
    try {
      url = new URL(String(raw));
    } catch {
      throw new IronError('ERR_INVALID_ARGUMENT', `API URL is not a URL (got ${JSON.stringify(String(raw).slice(0, 200))})`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new IronError('ERR_INVALID_ARGUMENT', `API URL must be http:// or https:// (got ${url.protocol})`);
    }
    return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') };
  });
}

/**
 * Why a failed call should move to another replica: the replica did not answer (refused, reset,
 * closed, timed out before its headers) or answered 503 (shutting down, its database unreachable).
 * undefined for an answer that another replica would give the same way (4xx, other 5xx).
 */
export function failoverReason(err: unknown): string | undefined {
  if (!isIronError(err)) return undefined;
  if (err.code === 'ERR_API_NETWORK' && err.retryable) return typeof err.details.reason === 'string' ? err.details.reason : 'network';
  if (err.details.status === 503) return 'HTTP 503';
  return undefined;
}

export class Replicas {
  private index = 0;
  readonly origins: readonly string[];

  constructor(
    private readonly targets: readonly Target[],
    private readonly onFailover?: (e: FailoverEvent) => void,
  ) {
    this.origins = targets.map((t) => t.origin);
  }

  get current(): Target {
    return this.targets[this.index] as Target;
  }

  /**
   * Runs `fn` on the current replica; on a failover-worthy failure that `mayFailOver` allows, moves to
   * the next replica and runs it there, each replica at most once. Throws the last failure when every
   * replica failed (the caller's retry policy then backs off before the next round).
   */
  async call<T>(fn: (t: Target) => Promise<T>, mayFailOver: (err: unknown) => boolean): Promise<T> {
    const n = this.targets.length;
    const start = this.index;
    for (let i = 0; ; i++) {
      const at = (start + i) % n;
      try {
        return await fn(this.targets[at] as Target);
      } catch (err) {
        const reason = failoverReason(err);
        if (n === 1 || reason === undefined || !mayFailOver(err)) throw err;
        this.moveOff(at, reason);
        if (i === n - 1) throw err;
      }
    }
  }

  /** Moves later calls off replica `at`, unless a concurrent call already did. */
  private moveOff(at: number, reason: string): void {
    if (this.index !== at) return;
    this.index = (at + 1) % this.targets.length;
    this.onFailover?.({ from: this.origins[at] as string, to: this.origins[this.index] as string, reason });
  }
}
