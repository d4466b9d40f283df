// One reserved task from reservation to final report, in one straight line:
//   reserve -> decrypt -> code package -> sandbox.prepare -> API start -> start -> ship output ->
//   wait -> finish report (while the container is removed) -> dispose (the slot is free again)
// Nothing calls back into this file but the output sink. What is reported is decided in one place
// (outcome.ts) from how the run ended and why the runner stopped it; the lifecycle is told as typed
// events (events.ts), which the log and the metrics subscribe to.
import { conflictSize, SHORT_RETRY, type FinishRequest, type FinishStatus, type ReservedTask, type RetryPolicy, type RunnerApi } from '../api/index.js';
import type { RunnerConfig } from '../config/runner.js';
import { decryptPayload } from '../decrypt/index.js';
import { errorCodeOf, isIronError, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PreparedTask, Sandbox, TaskSpec } from '../sandbox/index.js';
import type { CodeCache } from './code-cache.js';
import type { RunnerEventMap, RunnerEventName, RunnerEvents } from './events.js';
import { loadTaskCode, type TaskCode } from './task-code.js';
import type { LeasedTask } from './heartbeat.js';
import { LogShipper } from './log-shipper.js';
import { SecretMasker, secretValues } from './masker.js';
import type { RunnerMetrics } from './metrics.js';
import { taskLimits } from './limits.js';
import { decide, taskResult, type Decision, type RunEnd, type StopReason } from './outcome.js';
import { buildTaskSpec } from './task-spec.js';
import { TaskState } from './task-state.js';

export type { StopReason } from './outcome.js';

export interface TaskRunDeps {
  api: RunnerApi;
  sandbox: Sandbox;
  config: Readonly<RunnerConfig>;
  /** Job output only (LOG_JOB_OUTPUT); the lifecycle goes to `events`. */
  log: Logger;
  events: RunnerEvents;
  metrics: RunnerMetrics;
  spoolDir: string;
  deliverRetry: RetryPolicy;
  /** Aborts report retries when the whole runner must exit now. */
  hardStop: AbortSignal;
  /** The engine failed under this task: the runner stops taking tasks until it answers. */
  onEngineFailure?: () => void;
  /** Code packages by sha256 (JOBS_DIR/code-cache). */
  codeCache: CodeCache;
  /** Output the finish may carry (the reserve answer's finish_log_max_bytes; 0: every byte by log append). */
  finishLogMaxBytes?: number;
}

export class TaskRun implements LeasedTask {
  readonly id: string;
  readonly reservationId: string;
  readonly leaseMs: number;
  leaseDeadline: number;
  private readonly state = new TaskState();
  private readonly ctl = new AbortController();
  /** Aborted only when the task is no longer ours: stops log and finish retries too. */
  private readonly gone = new AbortController();
  /** The first reason the runner stopped the task for. */
  private stopReason: StopReason | undefined;
  /** Set once the lease is lost or fenced, whatever came first: then nothing is reported. */
  private goneReason: 'lost' | 'fenced' | undefined;
  private readonly log: Logger;
  private readonly reservedAt = performance.now();
  private prepared: PreparedTask | undefined;
  /** The removal of the container and input; under way while the outcome is reported. */
  private removal: Promise<void> | undefined;
  private reported = false;

  constructor(
    private readonly task: ReservedTask,
    private readonly deps: TaskRunDeps,
  ) {
    this.id = task.id;
    this.reservationId = task.reservation_id;
    const serverLease = Date.parse(task.lease_expires_at) - Date.now();
    // Clocks may differ; a lease we cannot interpret is taken as the protocol's default of 60 s.
    this.leaseMs = Number.isFinite(serverLease) && serverLease >= 5_000 ? Math.min(serverLease, 600_000) : 60_000;
    this.leaseDeadline = Date.now() + this.leaseMs;
    this.log = deps.log.child({ task_id: task.id, code_name: task.code_name, attempt: task.attempt });
  }

  /**
   * Whether the sandbox objects of this task are still in use. Once its removal is under way they are
   * not: if that removal fails (the engine was away), the orphan reaper may take them.
   */
  get usesEngineObjects(): boolean {
    return this.removal === undefined;
  }

  /** Idempotent; the first reason wins (but a lost or fenced lease always means: do not report). */
  stop(reason: StopReason): void {
    if (reason === 'lost' || reason === 'fenced') {
      this.goneReason ??= reason;
      this.gone.abort(reason);
    }
    if (this.stopReason !== undefined || this.state.phase === 'done') return;
    this.stopReason = reason;
    this.emit('task.stopping', { taskId: this.id, reason });
    this.ctl.abort(reason);
    this.prepared?.stop(reason);
  }

  async run(): Promise<void> {
    this.emit('task.reserved', {
      taskId: this.id,
      reservationId: this.reservationId,
      image: this.task.image ?? '',
      codeName: this.task.code_name,
      attempt: this.task.attempt,
    });
    const shipper = new LogShipper({
      api: this.deps.api,
      taskId: this.id,
      reservationId: this.reservationId,
      spoolDir: this.deps.spoolDir,
      log: this.log,
      retry: this.deps.deliverRetry,
      flushIntervalMs: this.deps.config.logFlushIntervalMs,
      onShipped: (n) => this.deps.metrics.logBytes.inc(n),
    });
    try {
      const payload = this.decrypt();
      if (!Buffer.isBuffer(payload)) {
        await this.report(this.decide({ kind: 'not-run', ...payload }), undefined);
        return;
      }
      this.state.to('preparing');
      await shipper.open();
      await this.report(this.decide(await this.execute(payload, shipper)), shipper);
    } catch (err) {
      this.emit('task.crashed', { taskId: this.id, err: toError(err) });
      await this.report(this.decide({ kind: 'crashed', error: err }), shipper);
    } finally {
      if (this.state.phase !== 'done') this.state.to('done');
      await shipper.dispose();
      // The slot stays taken until the engine is done with this task.
      if (this.prepared !== undefined) await this.remove(this.prepared);
      this.emit('task.released', { taskId: this.id });
    }
  }

  private decide(end: RunEnd): Decision {
    return decide(end, this.goneReason ?? this.stopReason, { attempt: this.task.attempt, memory: taskLimits(this.task, this.deps.config).memory });
  }

  /** The plaintext payload, or why the task is finished `error` (it is never run). */
  private decrypt(): Buffer | { code: string; msg: string } {
    const key = this.deps.config.decryptionKey;
    if (key === undefined) return Buffer.from(this.task.payload ?? '', 'utf8');
    this.state.to('decrypting');
    try {
      return decryptPayload(key, this.task.payload ?? '');
    } catch (err) {
      const code = isIronError(err) ? err.code : 'ERR_PAYLOAD_AUTH';
      if (code === 'ERR_PAYLOAD_NOT_BASE64' || code === 'ERR_PAYLOAD_TOO_SHORT') {
        return { code, msg: "payload is not encrypted: this cluster's runners decrypt every payload (queue it with --encryption-key-file)" };
      }
      if (code === 'ERR_PAYLOAD_WRONG_KEY_SIZE') {
        return { code, msg: `payload was encrypted for a different key: this cluster's key has ${key.bits} bits, the payload was encrypted for a smaller one (or cut short)` };
      }
      return { code, msg: "payload authentication failed (not encrypted with this cluster's public key, or altered)" };
    }
  }

  private async execute(payload: Buffer, shipper: LogShipper): Promise<RunEnd> {
    if ((this.task.image ?? '') === '') {
      // Legacy zip uploads (the npm client's codesUpload, runtime "sh") name no image to run them in.
      return { kind: 'not-run', code: 'ERR_INVALID_ARGUMENT', msg: 'the code has no image to run in: upload it again with one (iron worker upload --zip FILE IMAGE CMD...)' };
    }
    const spec = buildTaskSpec(this.task, payload, this.deps.config);
    let code: TaskCode | undefined;
    try {
      code = await loadTaskCode(this.task, { api: this.deps.api, cache: this.deps.codeCache, config: this.deps.config, metrics: this.deps.metrics }, this.ctl.signal);
    } catch (err) {
      return { kind: 'code-failed', error: err };
    }
    if (code !== undefined) spec.code = code.files;
    try {
      return await this.runInSandbox(spec, shipper);
    } finally {
      code?.close();
    }
  }

  private async runInSandbox(spec: TaskSpec, shipper: LogShipper): Promise<RunEnd> {
    const masker = new SecretMasker(secretValues(spec.env));
    const prepared = await this.deps.sandbox.prepare(spec, this.ctl.signal);
    this.prepared = prepared;
    // A stop that came while preparing.
    if (this.stopReason !== undefined) prepared.stop(this.stopReason);
    if (prepared.runnable) {
      this.deps.metrics.pickup.observe((performance.now() - this.reservedAt) / 1000);
      // Overlaps the container's create, attach and input fill (prepare.ts); the job starts only after.
      const refusal = await this.deps.api.start(this.id, this.reservationId, this.ctl.signal, { retry: SHORT_RETRY }).then(
        () => undefined,
        (err: unknown) => ({ err }),
      );
      // Refused because the runner stopped the task: the stop made the prepared task's outcome.
      if (refusal !== undefined && !this.ctl.signal.aborted) {
        void this.remove(prepared);
        return { kind: 'start-failed', error: refusal.err };
      }
      if (refusal === undefined) {
        this.state.to('running');
        this.emit('task.starting', { taskId: this.id });
        await prepared.start(async (chunk, stream) => {
          const safe = masker.push(chunk);
          if (this.deps.config.logJobOutput && safe.length > 0) this.log.info({ stream, output: safe.toString('utf8') }, 'job output');
          await shipper.write(safe);
        }, this.ctl.signal);
      }
    }
    const outcome = await prepared.wait();
    // The outcome is reported while the container and input are removed.
    void this.remove(prepared);
    if (outcome.kind !== 'failed') {
      await shipper.write(masker.flush());
      this.deps.metrics.runDuration.observe({ outcome: taskResult(outcome).status }, outcome.durationMs / 1000);
    }
    return { kind: 'sandbox', outcome };
  }

  private remove(prepared: PreparedTask): Promise<void> {
    this.removal ??= prepared.dispose();
    return this.removal;
  }

  private async report(d: Decision, shipper: LogShipper | undefined): Promise<void> {
    // Once per run, whatever path got here (a crash while reporting must not report twice).
    if (this.reported) return;
    this.reported = true;
    if (d.refused !== undefined) this.emit('task.refused', { taskId: this.id, code: d.refused.code, why: d.refused.why });
    if (d.engineDown) this.deps.onEngineFailure?.();
    if (d.action === 'none') {
      this.emit('task.unreported', { taskId: this.id, reason: d.why });
      return;
    }
    if (this.state.phase !== 'reporting' && this.state.phase !== 'done') this.state.to('reporting');
    const signal = AbortSignal.any([this.deps.hardStop, this.gone.signal]);
    const status: FinishStatus = d.action === 'give-back' ? 'requeue' : d.status;
    try {
      const msg = status === 'complete' ? '' : d.msg;
      const durationMs = Math.round(d.durationMs);
      const body = (logSize: number): FinishRequest => ({
        reservation_id: this.reservationId,
        status,
        exit_code: d.exitCode,
        msg,
        duration_ms: durationMs,
        log_size: logSize,
        ...(d.truncated || shipper?.truncated === true ? { log_truncated: true } : {}),
        ...(d.usage === undefined ? {} : { usage: { peak_memory: Math.round(d.usage.peakMemoryBytes), cpu_seconds: d.usage.cpuSeconds } }),
      });
      const closed = shipper === undefined ? { size: 0 } : await shipper.closeWithTail(signal, this.deps.finishLogMaxBytes ?? 0);
      let logSize = closed.size;
      if (closed.tail === undefined || shipper === undefined) await this.finishWith(body(logSize), signal);
      else {
        logSize = closed.tail.offset + closed.tail.data.length;
        const log_tail = { offset: closed.tail.offset, data: closed.tail.data.toString('base64') };
        try {
          await this.deps.api.finishWithLog(this.id, { ...body(logSize), log_tail }, signal, { retry: this.deps.deliverRetry });
          shipper.tailDelivered(closed.tail.data.length);
        } catch (err) {
          const serverSize = tailRefused(err, closed.tail.offset);
          if (serverSize === undefined) throw err;
          // Nothing was finished: the tail goes by log append from where the API is, then the finish alone.
          logSize = await shipper.shipTail(serverSize, signal);
          await this.finishWith(body(logSize), signal);
        }
      }
      if (d.action === 'give-back') this.emit('task.given_back', { taskId: this.id, why: d.why });
      else {
        this.emit('task.finished', {
          taskId: this.id,
          status: d.status,
          reason: msg,
          exitCode: d.exitCode,
          durationMs,
          logBytes: logSize,
          ageMs: this.state.age(),
        });
      }
    } catch (err) {
      if (isIronError(err, 'ERR_API_CONFLICT')) {
        this.emit('task.unreported', { taskId: this.id, reason: 'superseded' });
        return;
      }
      const code = errorCodeOf(err);
      if (d.action === 'give-back') this.emit('task.give_back_failed', { taskId: this.id, code });
      else this.emit('task.report_failed', { taskId: this.id, status: d.status, code });
    }
  }

  private finishWith(body: FinishRequest, signal: AbortSignal): Promise<void> {
    return this.deps.api.finish(this.id, body, signal, { retry: this.deps.deliverRetry });
  }

  private emit<K extends RunnerEventName>(name: K, event: RunnerEventMap[K]): void {
    this.deps.events.emit(name, event);
  }
}

/**
 * Where the log stands on the API when it refused a finish-with-log and finished nothing: a 409 with
 * the size it holds (it lost bytes it had acknowledged); a 404 from a replica that predates the call
 * (or a task gone: the appends then fail the same way) or a 400 (a smaller MAX_BODY_SIZE since the
 * reserve), where it holds what the tail's offset says. Undefined: the refusal is the finish's own.
 */
function tailRefused(err: unknown, offset: number): number | undefined {
  const size = conflictSize(err);
  if (size !== undefined) return size;
  return isIronError(err, 'ERR_API_NOT_FOUND') || isIronError(err, 'ERR_API_BAD_REQUEST') ? offset : undefined;
}
