// Reservation and leases: the runner protocol's state changes (docs/protocol.md). A reserve
// long-polls on the cluster's wake-ups, hands out tasks under a lease and answers in the protocol's
// wire types; heartbeats extend leases; start, log and finish are fenced by the reservation; a task
// whose answer never reached its runner is given back at once.
import { IronError, isIronError } from '../../errors.js';
import { MAX_FINISH_LOG_BYTES } from '../../protocol/limits.js';
import { LOG_LIMIT_REASON } from '../../protocol/reasons.js';
import type { FinishResponse, HeartbeatResponse, ReservedTask, ReserveResponse, StartResponse, WarmFields, WarmImage } from '../../protocol/runner.js';
import { conflict, forbidden, notFound } from '../http/errors.js';
import { rfc3339 } from '../ids.js';
import { dockerAuthFor } from '../registry.js';
import type { Cluster, FinishInput, Reservation, RunnerOutcome } from '../store/records.js';
import type { AppendResult } from '../store/log-appends.js';
import type { PackageFile } from './code-packages.js';
import type { ServicesCore } from './core.js';
import type { Parked, WakeReason } from './wakeups.js';

export interface ReserveInput {
  readonly instanceId: string;
  readonly n: number;
  /** Long-poll milliseconds (already capped by the server's MAX_WAIT). */
  readonly waitMs: number;
  /** Only a runner that sends a cursor takes part in warm-ups (older runners never see the fields). */
  readonly warmCursor: string | undefined;
}

/** A reserve's answer, and the reservations it hands out (to give back if the answer is not delivered). */
export interface Reserved {
  readonly answer: ReserveResponse;
  readonly reservations: readonly Reservation[];
}

export interface HeartbeatInput {
  readonly instanceId: string;
  readonly tasks: readonly { id: string; reservationId: string }[];
  readonly warmCursor: string | undefined;
}

/** The last bytes of a task's output, carried by finish-with-log (FinishWithLogRequest.log_tail). */
export interface LogTail {
  readonly offset: number;
  readonly data: Buffer;
}

/** What a log write came to: refused by the fence, the log already full, or the append's result. */
type LogWrite = { kind: 'refused'; reason: RefusalReason } | { kind: 'full' } | { kind: 'written'; res: AppendResult };

/** Why the store refused a runner call on a task. */
type RefusalReason = Extract<RunnerOutcome, { ok: false }>['reason'];

/** Room a finish body keeps for its other fields, besides the base64 of its log tail. */
const FINISH_FIELDS_BYTES = 8 * 1024;

/** The log tail a finish may carry: the protocol's limit, or less when MAX_BODY_SIZE is small (0: none). */
function finishLogMaxBytes(maxBodyBytes: number): number {
  return Math.max(0, Math.min(MAX_FINISH_LOG_BYTES, Math.floor(((maxBodyBytes - FINISH_FIELDS_BYTES) * 3) / 4)));
}

export interface LogAppend {
  readonly taskId: string;
  readonly reservationId: string;
  /** The offset as sent (1 to MAX_LOG_OFFSET_DIGITS decimal digits, checked by the caller). */
  readonly offset: string;
  /** Reads the chunk: called only once the task is known to take it. */
  readonly body: () => Promise<Buffer[]>;
}

export class Reservations {
  /** The log tail a finish-with-log may carry here (finish_log_max_bytes; 0: not offered). */
  readonly finishLogMaxBytes: number;

  constructor(private readonly core: ServicesCore) {
    this.finishLogMaxBytes = finishLogMaxBytes(core.config.maxBodyBytes);
  }

  /** Long-polls for up to `waitMs`; `signal` ends it (client gone, server closing). */
  async reserve(clusterId: string, input: ReserveInput, signal: AbortSignal): Promise<Reserved> {
    const {
      store: { clusters },
      config,
    } = this.core;
    const first = await clusters.getCluster(clusterId, signal);
    if (first === undefined) throw notFound('Cluster not found');
    const poll = { waited: false };
    const reservations = await this.longPoll(clusterId, input, Date.now() + input.waitMs, poll, signal);
    // A cluster updated while the reserve was parked applies to these tasks: read again after a wait.
    // A reserve that found its tasks at once uses the row it read a moment ago (one statement less).
    const cluster = reservations.length === 0 ? undefined : poll.waited ? await clusters.getCluster(clusterId, signal) : first;
    if (reservations.length > 0 && cluster === undefined) throw notFound('Cluster not found');
    const tasks = cluster === undefined ? [] : await Promise.all(reservations.map((r) => this.reservedTask(cluster, r, signal)));
    const answer: ReserveResponse = {
      tasks,
      heartbeat_interval_ms: config.heartbeatIntervalMs,
      idle_heartbeat_interval_ms: config.idleHeartbeatIntervalMs,
      ...(this.finishLogMaxBytes > 0 ? { finish_log_max_bytes: this.finishLogMaxBytes } : {}),
      ...(input.warmCursor === undefined ? {} : await this.warm(clusterId, input.warmCursor, signal)),
    };
    return { answer, reservations };
  }

  /**
   * A reservation only counts if the runner receives it. When the runner hung up first (it is
   * draining, or the connection broke), the tasks are given back now instead of after lease expiry.
   */
  async giveBack(clusterId: string, reservations: readonly Reservation[]): Promise<void> {
    const now = Date.now();
    for (const r of reservations) {
      // The request is gone: the give-back runs on the services' lifetime, not the request's.
      await this.core.store.leases.finishTask(
        clusterId,
        r.task.id,
        {
          reservationId: r.reservationId,
          status: 'requeue',
          exitCode: null,
          msg: '',
          durationMs: null,
          logSize: null,
        },
        now,
        this.core.rules,
        this.core.lifetime,
      );
    }
    this.core.log.info({ cluster_id: clusterId, tasks: reservations.length }, 'reserve answer not delivered (runner hung up); tasks given back');
    this.core.readiness.ready([{ clusterId, count: reservations.length }]);
  }

  /** A draining runner ends its own parked reserves so their answers reach it; returns how many. */
  release(clusterId: string, instanceId: string): number {
    return this.core.wakeups.release(clusterId, instanceId);
  }

  async heartbeat(clusterId: string, input: HeartbeatInput, signal: AbortSignal): Promise<HeartbeatResponse> {
    const {
      config,
      store: { leases },
      rules,
      readiness,
    } = this.core;
    const until = Date.now() + config.leaseMs;
    const out = await leases.heartbeat(clusterId, input.tasks, until, rules, signal);
    readiness.dueAt(until);
    const warm = input.warmCursor === undefined ? {} : await this.warm(clusterId, input.warmCursor, signal);
    return { ...out, lease_expires_at: rfc3339(until), heartbeat_interval_ms: config.heartbeatIntervalMs, idle_heartbeat_interval_ms: config.idleHeartbeatIntervalMs, ...warm };
  }

  async start(clusterId: string, taskId: string, reservationId: string, signal: AbortSignal): Promise<StartResponse> {
    const t = outcome(await this.core.store.leases.startTask(clusterId, taskId, reservationId, Date.now(), this.core.rules, signal));
    return { msg: 'Started', status: t.status };
  }

  /** Appends a log chunk of the current reservation; the size of this reservation's output after it. */
  async appendLog(clusterId: string, a: LogAppend, signal: AbortSignal): Promise<number> {
    const { leases } = this.core.store;
    const w = await this.writeLog(clusterId, a.taskId, a.reservationId, Number(a.offset), a.body, signal);
    // Only the current reservation of a task still held by a runner may write (not a finished task).
    if (w.kind === 'refused') throw refusal(w.reason);
    // Full already: refused before the body was read.
    if (w.kind !== 'written') throw this.logLimit();
    const res = w.res;
    if (!res.ok) throw conflict(`offset ${a.offset} does not match the log size ${res.size}`, { size: res.size });
    await leases.setLogSize(a.taskId, res.total, signal);
    if (res.capped === true) {
      await leases.markLogTruncated(a.taskId, signal);
      throw this.logLimit(res.size);
    }
    return res.size;
  }

  /**
   * One log write of a reservation, in its task's append order (counted from before the body is
   * read, so a later chunk that overtakes this one waits for it): the fence, the cap, the append.
   * `parts` is read only once the task is known to take it.
   */
  private async writeLog(clusterId: string, taskId: string, reservationId: string, offset: number, parts: () => Promise<Buffer[]>, signal: AbortSignal): Promise<LogWrite> {
    const {
      config,
      store: { leases },
      logs,
      rules,
    } = this.core;
    const release = logs.enter(taskId);
    try {
      const target = await leases.logTarget(clusterId, taskId, reservationId, rules, signal);
      if (!target.ok) return { kind: 'refused', reason: target.reason };
      if (target.task.logSize >= config.maxLogBytes) return { kind: 'full' };
      return { kind: 'written', res: await logs.append(taskId, { reservationId, attempt: target.task.attempt }, offset, await parts()) };
    } finally {
      release();
    }
  }

  async finish(clusterId: string, taskId: string, input: FinishInput, tail: LogTail | undefined, signal: AbortSignal): Promise<FinishResponse> {
    const {
      store: { leases },
      rules,
      metrics,
      readiness,
    } = this.core;
    const f = tail === undefined ? input : await this.appendTail(clusterId, taskId, input, tail, signal);
    const t = outcome(await leases.finishTask(clusterId, taskId, f, Date.now(), rules, signal));
    metrics.finished.inc({ status: input.status });
    // The freed slot may let a task of the same code run (max_concurrency); a requeued task or a code
    // retry is ready again in the task's cluster, a delayed retry arms the scheduler.
    const code = await readiness.slotFreed(t.projectId, t.codeId, signal);
    readiness.finished(t, code === undefined ? 0 : code.retriesDelay);
    return { msg: 'Finished', status: t.status };
  }

  /**
   * Appends a finish's log tail as a log append would (same ordering, same fence, same cap), and
   * returns the finish with the stored size: the finish writes it, so the tail costs no update of its
   * own. A finish repeated after its task ended skips the append (the first one made it, and
   * finishTask answers the repeat); a superseded or unknown task is left to finishTask to refuse.
   */
  private async appendTail(clusterId: string, taskId: string, input: FinishInput, tail: LogTail, signal: AbortSignal): Promise<FinishInput> {
    const w = await this.writeLog(clusterId, taskId, input.reservationId, tail.offset, () => Promise.resolve([tail.data]), signal);
    if (w.kind === 'refused') return input;
    // Full already: the tail is dropped, as a log append past the cap would be.
    if (w.kind === 'full') return { ...input, logTruncated: true };
    const res = w.res;
    if (!res.ok) throw conflict(`log_tail offset ${tail.offset} does not match the log size ${res.size}`, { size: res.size });
    return { ...input, logSize: Math.max(input.logSize ?? 0, res.total), logTruncated: input.logTruncated || res.capped === true };
  }

  /** The zip of a task's revision, only for the reservation that holds the task now. */
  async codePackage(clusterId: string, taskId: string, reservationId: string, signal: AbortSignal): Promise<PackageFile> {
    const {
      store: { leases, codes },
      packages,
      rules,
    } = this.core;
    // An empty reservation id matches none (logTarget skips the check only for null).
    const out = await leases.logTarget(clusterId, taskId, reservationId, rules, signal);
    if (!out.ok && out.reason === 'not_found') throw notFound('Task not found in this cluster');
    if (!out.ok || reservationId === '' || (out.task.status !== 'preparing' && out.task.status !== 'running')) {
      throw forbidden('no current reservation of this task: its code is only served to the runner that holds it');
    }
    const rev = await codes.getRevision(out.task.codeHistoryId, signal);
    if (rev === undefined || rev.codeSize <= 0) throw notFound('The code revision of this task has no code package');
    const file = await packages.file(rev.id, signal);
    if (file === undefined) throw notFound('The code package file of this revision is missing on the server');
    return file;
  }

  /** `poll.waited` is set once the reserve waited for a wake-up (parked past its first look). */
  private async longPoll(clusterId: string, input: ReserveInput, deadline: number, poll: { waited: boolean }, signal: AbortSignal): Promise<Reservation[]> {
    const { wakeups, warmups } = this.core;
    // Ends the long-poll: the request's signal, or the runner's release. (A listener, not
    // AbortSignal.any: see http/request-aborts.ts for what that costs per call.)
    const stop = new AbortController();
    const onAbort = (): void => stop.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const removeRelease = wakeups.onRelease(clusterId, input.instanceId, () => stop.abort());
    const cursor = input.warmCursor;
    // A warm-up listed for this runner ends the long-poll early (with no tasks) so it can start pulling.
    const warm = cursor === undefined ? () => false : () => warmups.pending(clusterId, cursor, Date.now());
    try {
      return await this.loop(clusterId, input, deadline, stop.signal, warm, poll, signal);
    } finally {
      removeRelease();
      signal.removeEventListener('abort', onAbort);
    }
  }

  private async loop(clusterId: string, input: ReserveInput, deadline: number, stop: AbortSignal, warm: () => boolean, poll: { waited: boolean }, signal: AbortSignal): Promise<Reservation[]> {
    const { wakeups } = this.core;
    const look = (): Promise<Reservation[]> => this.look(clusterId, input.instanceId, input.n, signal);
    let woken = false;
    for (;;) {
      // Park first, then look: a task queued in between wakes this waiter instead of being missed.
      let parked: Parked;
      try {
        parked = wakeups.park(clusterId, deadline - Date.now(), stop);
      } catch (err) {
        // Too many reserves parked on this cluster: a look without waiting, then "retry later".
        if (!isIronError(err, 'ERR_SERVER_BUSY')) throw err;
        const got = await look();
        if (got.length > 0) return got;
        throw err;
      }
      let reason: WakeReason | undefined;
      try {
        if (stop.aborted) return [];
        const got = await look();
        // Woken and filled: more tasks may be waiting for the next reserve (if any were announced).
        if (woken && got.length === input.n) wakeups.passOn(clusterId);
        // A warm-up listed for this runner ends the long-poll so that it can start pulling.
        if (got.length > 0 || Date.now() >= deadline || warm()) return got;
        poll.waited = true;
        reason = await parked.promise;
      } finally {
        parked.cancel();
      }
      woken = reason === 'woken';
      if (Date.now() >= deadline || stop.aborted) {
        // This reserve was meant to take a task but is leaving: hand the wake-up to another one.
        if (woken) wakeups.nudge(clusterId, 1);
        return [];
      }
    }
  }

  private async look(clusterId: string, instanceId: string, n: number, signal: AbortSignal): Promise<Reservation[]> {
    const {
      config,
      store: { leases },
      metrics,
      readiness,
    } = this.core;
    const now = Date.now();
    metrics.reserveLooks.inc();
    const started = this.core.wakeups.lookStarts(clusterId);
    const got = await leases.reserve(clusterId, instanceId, n, now, now + config.leaseMs, signal);
    this.core.wakeups.looked(clusterId, started, n, got.length);
    if (got.length > 0) {
      metrics.reservations.inc({ cluster: clusterId }, got.length);
      readiness.dueAt(now + config.leaseMs);
    }
    return got;
  }

  /** A reservation in the protocol's shape, with the cluster's limits as they are now. */
  private async reservedTask(cluster: Cluster, { task: t, revision: rev, reservationId, leaseExpiresAt }: Reservation, signal: AbortSignal): Promise<ReservedTask> {
    const pkg = await this.core.packages.ref(rev, signal);
    const auth = dockerAuthFor(rev.image, await this.core.store.accounts.credentials(t.projectId, signal));
    return {
      id: t.id,
      project_id: t.projectId,
      code_id: t.codeId,
      code_name: t.codeName,
      code_history_id: t.codeHistoryId,
      code_rev: String(t.codeRev),
      cluster: t.clusterId,
      image: rev.image,
      command: rev.command,
      env_vars: rev.envVars,
      config: rev.config,
      payload: t.payload,
      timeout: t.timeout,
      priority: t.priority,
      memory: cluster.memory,
      disk: cluster.diskSpace,
      reservation_id: reservationId,
      lease_expires_at: rfc3339(leaseExpiresAt),
      attempt: t.attempt,
      ...(cluster.cpuShare === null ? {} : { cpu_share: cluster.cpuShare }),
      ...(pkg === undefined ? {} : { code_package: pkg }),
      ...(auth === undefined ? {} : { docker_auth: auth }),
    };
  }

  /** The images to warm that this runner has not seen, each with its project's credentials for that registry. */
  private async warm(clusterId: string, cursor: string, signal: AbortSignal): Promise<Required<WarmFields>> {
    const { entries, cursor: next } = this.core.warmups.since(clusterId, cursor, Date.now());
    const warm = await Promise.all(
      entries.map(async (e): Promise<WarmImage> => {
        const auth = dockerAuthFor(e.image, await this.core.store.accounts.credentials(e.projectId, signal));
        return { image: e.image, project_id: e.projectId, ...(auth === undefined ? {} : { docker_auth: auth }) };
      }),
    );
    return { warm, warm_cursor: next };
  }

  /** The log is at the API's cap: this and further output are dropped; the runner stops shipping and reports the outcome. */
  private logLimit(size?: number): IronError {
    return new IronError('ERR_SERVER_LOG_LIMIT', `the task log reached the limit of ${this.core.config.maxLogBytes} bytes; further output is dropped`, {
      details: size === undefined ? { reason: LOG_LIMIT_REASON } : { reason: LOG_LIMIT_REASON, size },
    });
  }
}

/** The task of a successful runner call; the protocol's 404 or 409 (with its reason) otherwise. */
function outcome<T>(o: RunnerOutcome<T>): T {
  if (o.ok) return o.task;
  throw refusal(o.reason);
}

/** The protocol's 404, or its 409 with the reason, for a runner call the task refused. */
function refusal(reason: RefusalReason): IronError {
  if (reason === 'not_found') return notFound('Task not found in this cluster');
  if (reason === 'cancelled') return new IronError('ERR_SERVER_CONFLICT', 'task was cancelled; do not run it', { details: { reason: 'cancelled' } });
  if (reason === 'finished') return new IronError('ERR_SERVER_CONFLICT', 'the task has finished; its log is closed', { details: { reason: 'finished' } });
  return new IronError('ERR_SERVER_CONFLICT', 'reservation superseded: this task is no longer yours', { details: { reason: 'superseded' } });
}
