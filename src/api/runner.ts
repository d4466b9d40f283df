// The runner protocol client (architecture §3), authenticated with a cluster token. Default retry
// policies follow the protocol's delivery rules: log and finish retry until delivered or aborted,
// reserve and heartbeat do not retry (the runner's loops call them again on their own schedule).
import { IronError, isIronError } from '../errors.js';
import type { HttpClient } from './http.js';
import { DELIVER_RETRY, NO_RETRY, type RetryPolicy } from './retry.js';
import { unwrapCluster } from './clusters.js';
import type {
  FinishRequest,
  FinishWithLogRequest,
  HeartbeatRequest,
  HeartbeatResponse,
  LogAppendResponse,
  ReleaseRequest,
  ReserveRequest,
  ReserveResponse,
  RunnerCluster,
  StartRequest,
  WarmAnswer,
  WarmImage,
} from '../protocol/runner.js';
import { MAX_FINISH_LOG_BYTES, MAX_RESERVE_WAIT_S } from '../protocol/limits.js';
import { LOG_LIMIT_REASON } from '../protocol/reasons.js';
import type { CallOptions } from './project.js';

const seg = encodeURIComponent;
/** A parked reserve answers after its `wait`; this much longer without headers means the replica is gone. */
const RESERVE_ANSWER_MARGIN_S = 15;
export { MAX_RESERVE_WAIT_S };

/** The server's log size carried by an append conflict (409/416), for resync; undefined otherwise. */
export function conflictSize(err: unknown): number | undefined {
  if (!isIronError(err, 'ERR_API_CONFLICT')) return undefined;
  const size = err.details.size;
  return typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}

/** Well-formed warm-up entries only: a malformed one is dropped, never fatal to the reserve. */
function warmList(v: unknown): WarmImage[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((e: unknown) => {
    if (e === null || typeof e !== 'object') return [];
    const o = e as Record<string, unknown>;
    if (typeof o['image'] !== 'string' || o['image'] === '' || typeof o['project_id'] !== 'string') return [];
    return [{ image: o['image'], project_id: o['project_id'], ...(o['docker_auth'] === undefined ? {} : { docker_auth: o['docker_auth'] }) }];
  });
}

/**
 * The API refused a log chunk because the task's log is at its cap (413, reason `log_limit`): stop
 * shipping, keep the outcome. Returns the size the server holds when it said, else null; undefined
 * for any other error.
 */
export function logLimitSize(err: unknown): number | null | undefined {
  if (!isIronError(err, 'ERR_API_BAD_REQUEST') || err.details.reason !== LOG_LIMIT_REASON) return undefined;
  const size = err.details.size;
  return typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : null;
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export class RunnerApi {
  constructor(
    private readonly http: HttpClient,
    readonly clusterId: string,
  ) {}

  private path(rest: string): string {
    return `/2/clusters/${seg(this.clusterId)}${rest}`;
  }

  private policy(o: CallOptions | undefined, fallback: RetryPolicy | undefined): { retry?: RetryPolicy } {
    const p = o?.retry ?? fallback;
    return p === undefined ? {} : { retry: p };
  }

  /** Startup check: the cluster exists and the token is valid; returns per-task defaults. */
  async getCluster(signal: AbortSignal, o?: CallOptions): Promise<RunnerCluster> {
    const res = await this.http.json({ method: 'GET', path: this.path(''), ...this.policy(o, undefined) }, signal);
    return unwrapCluster(res, 'get cluster');
  }

  /** Long-poll for up to `wait` seconds; resolves with 0..n tasks. */
  async reserve(req: ReserveRequest, signal: AbortSignal, o?: CallOptions): Promise<ReserveResponse & WarmAnswer> {
    if (!Number.isInteger(req.n) || req.n < 1 || req.wait < 0 || req.wait > MAX_RESERVE_WAIT_S) {
      throw new IronError('ERR_INVALID_ARGUMENT', `reserve needs n ≥ 1 and 0 ≤ wait ≤ ${MAX_RESERVE_WAIT_S} s`, {
        details: { n: req.n, wait: req.wait },
      });
    }
    const res = await this.http.json<Partial<ReserveResponse>>(
      {
        method: 'POST',
        path: this.path('/runner/reserve'),
        json: req,
        // Safe to repeat, also on another replica after a parked reserve broke: it never hands one
        // task out twice, and a reservation written to a connection that broke is stranded (then
        // requeued at its lease expiry) whether or not the runner asks again (docs/protocol.md).
        idempotent: true,
        headersTimeoutMs: (req.wait + RESERVE_ANSWER_MARGIN_S) * 1000,
        ...this.policy(o, NO_RETRY),
      },
      signal,
    );
    if (!Array.isArray(res.tasks)) throw new IronError('ERR_API_RESPONSE', 'reserve answer has no tasks list');
    const interval = typeof res.heartbeat_interval_ms === 'number' && res.heartbeat_interval_ms > 0 ? res.heartbeat_interval_ms : 1000;
    const idle = positive(res.idle_heartbeat_interval_ms);
    // Never more than the protocol's limit, whatever a server says: the finish must stay small.
    const tail = positive(res.finish_log_max_bytes);
    return {
      tasks: res.tasks,
      heartbeat_interval_ms: interval,
      ...(idle === undefined ? {} : { idle_heartbeat_interval_ms: idle }),
      ...(tail === undefined ? {} : { finish_log_max_bytes: Math.min(tail, MAX_FINISH_LOG_BYTES) }),
      warm: warmList(res.warm),
      ...(typeof res.warm_cursor === 'string' ? { warm_cursor: res.warm_cursor } : {}),
    };
  }

  /** Ends this instance's parked reserve at once (a draining runner), so its answer is not stranded. */
  async release(instanceId: string, signal: AbortSignal, o?: CallOptions): Promise<void> {
    await this.http.send(
      {
        method: 'POST',
        path: this.path('/runner/release'),
        json: { instance_id: instanceId } satisfies ReleaseRequest,
        idempotent: true,
        ...this.policy(o, NO_RETRY),
      },
      signal,
    );
  }

  /** One call per runner instance: extends every lease it holds. */
  async heartbeat(req: HeartbeatRequest, signal: AbortSignal, o?: CallOptions): Promise<HeartbeatResponse & WarmAnswer> {
    const res = await this.http.json<{
      cancel?: unknown;
      lost?: unknown;
      lease_expires_at?: unknown;
      heartbeat_interval_ms?: unknown;
      idle_heartbeat_interval_ms?: unknown;
      warm?: unknown;
      warm_cursor?: unknown;
    }>(
      {
        method: 'POST',
        path: this.path('/runner/heartbeat'),
        json: req,
        idempotent: true,
        ...this.policy(o, NO_RETRY),
      },
      signal,
    );
    const idle = positive(res.idle_heartbeat_interval_ms);
    return {
      cancel: stringList(res.cancel),
      lost: stringList(res.lost),
      ...(typeof res.lease_expires_at === 'string' ? { lease_expires_at: res.lease_expires_at } : {}),
      ...(typeof res.heartbeat_interval_ms === 'number' ? { heartbeat_interval_ms: res.heartbeat_interval_ms } : {}),
      ...(idle === undefined ? {} : { idle_heartbeat_interval_ms: idle }),
      warm: warmList(res.warm),
      ...(typeof res.warm_cursor === 'string' ? { warm_cursor: res.warm_cursor } : {}),
    };
  }

  /** preparing -> running. ERR_API_CONFLICT: the reservation is gone, do not run the task. */
  async start(taskId: string, reservationId: string, signal: AbortSignal, o?: CallOptions): Promise<void> {
    await this.http.send(
      {
        method: 'POST',
        path: this.path(`/runner/tasks/${seg(taskId)}/start`),
        json: { reservation_id: reservationId } satisfies StartRequest,
        idempotent: true,
        ...this.policy(o, undefined),
      },
      signal,
    );
  }

  /**
   * Appends `bytes` at byte `offset` of the task's log. Idempotent on the server. An offset mismatch
   * throws ERR_API_CONFLICT whose details.size (see conflictSize) is the server's size to resync to.
   * With `reservationId`, the server also refuses chunks from a superseded reservation (409).
   */
  async appendLog(taskId: string, offset: number, bytes: Uint8Array, signal: AbortSignal, o?: CallOptions & { reservationId?: string }): Promise<LogAppendResponse> {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new IronError('ERR_INVALID_ARGUMENT', 'log offset must be a non-negative integer', { details: { offset } });
    }
    const res = await this.http.json<{ size?: unknown }>(
      {
        method: 'POST',
        path: this.path(`/runner/tasks/${seg(taskId)}/log`),
        query: { offset, reservation_id: o?.reservationId },
        body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        contentType: 'application/octet-stream',
        idempotent: true,
        ...this.policy(o, DELIVER_RETRY),
      },
      signal,
    );
    const size = typeof res.size === 'number' ? res.size : offset + bytes.byteLength;
    return { size };
  }

  /**
   * Streams the zip of a reserved task's code revision into `sink` (retried per policy from the
   * start; the sink begins afresh each time). ERR_API_FORBIDDEN: the reservation is no longer ours.
   */
  async downloadCode(taskId: string, reservationId: string, sink: (body: AsyncIterable<Uint8Array>) => Promise<void>, signal: AbortSignal, o?: CallOptions): Promise<void> {
    await this.http.download(
      {
        method: 'GET',
        path: this.path(`/runner/tasks/${seg(taskId)}/code`),
        query: { reservation_id: reservationId },
        idempotent: true,
        ...this.policy(o, undefined),
      },
      sink,
      signal,
    );
  }

  /** Terminal report; idempotent. ERR_API_CONFLICT: superseded reservation, drop it. */
  async finish(taskId: string, req: FinishRequest, signal: AbortSignal, o?: CallOptions): Promise<void> {
    await this.report('finish', taskId, req, signal, o);
  }

  /**
   * The terminal report with the last output (only where the reserve answer offered room for it);
   * idempotent. ERR_API_CONFLICT with a size (conflictSize): the API holds that much, not the
   * tail's offset, and the task is not finished. ERR_API_NOT_FOUND also from a replica that predates
   * the call: nothing was finished or written there.
   */
  async finishWithLog(taskId: string, req: FinishWithLogRequest, signal: AbortSignal, o?: CallOptions): Promise<void> {
    await this.report('finish-with-log', taskId, req, signal, o);
  }

  private async report(action: 'finish' | 'finish-with-log', taskId: string, req: FinishRequest, signal: AbortSignal, o: CallOptions | undefined): Promise<void> {
    await this.http.send(
      {
        method: 'POST',
        path: this.path(`/runner/tasks/${seg(taskId)}/${action}`),
        json: req,
        idempotent: true,
        ...this.policy(o, DELIVER_RETRY),
      },
      signal,
    );
  }
}

/** A positive whole number of milliseconds from an answer, or undefined (an older server sends none). */
function positive(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined;
}
