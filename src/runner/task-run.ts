// One reserved task from reservation to final report:
//   reserved -> decrypting -> preparing -> running -> reporting -> done
// Why a task stops matters for what is reported: a user cancel is reported `cancelled`; a drain gives
// the task back (`requeue`); a task whose lease is lost or fenced is never reported (another runner
// may own it now).
import type { FinishRequest, FinishStatus, ReservedTask, RetryPolicy, RunnerApi } from '../api/index.js';
import type { RunnerConfig } from '../config/runner.js';
import { formatSize } from '../config/units.js';
import { decryptPayload } from '../decrypt/index.js';
import { isIronError, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Sandbox, TaskOutcome, TaskSpec } from '../sandbox/index.js';
import type { CodeCache } from './code-cache.js';
import type { RunnerEvents } from './events.js';
import { loadTaskCode, type TaskCode } from './task-code.js';
import type { LeasedTask } from './heartbeat.js';
import { SHORT_RETRY } from './backoff.js';
import { LogShipper } from './log-shipper.js';
import { SecretMasker, secretValues } from './masker.js';
import type { RunnerMetrics } from './metrics.js';
import { taskLimits } from './limits.js';
import { buildTaskSpec } from './task-spec.js';
import { TaskState } from './task-state.js';

export type StopReason = 'cancel' | 'lost' | 'fenced' | 'requeue';

/**
 * A task that failed before running for a transient reason is given back while its attempt (the
 * server counts every reservation) is below this; then it ends `error`. The cap lives in the runner
 * because only the runner knows why it gave a task back (docs/protocol.md, "Giving a task back").
 */
export const MAX_GIVE_BACK_ATTEMPTS = 10;

/** The engine itself failed (unreachable, hung, 5xx), not the task: the runner pauses until it answers. */
function engineTrouble(err: unknown): boolean {
  return isIronError(err, 'ERR_ENGINE_UNAVAILABLE') || isIronError(err, 'ERR_ENGINE_TIMEOUT') || (isIronError(err, 'ERR_ENGINE_FAILED') && err.retryable);
}

export interface TaskRunDeps {
  api: RunnerApi;
  sandbox: Sandbox;
  config: Readonly<RunnerConfig>;
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
  private stopReason: StopReason | undefined;
  private readonly log: Logger;
  private readonly reservedAt = performance.now();
  private readonly reservedWallMs = Date.now();
  private containerId: string | undefined;
  /** Removal of the container and input, handed over by the sandbox; under way while the outcome is reported. */
  private cleanup: Promise<void> | undefined;

  constructor(private readonly task: ReservedTask, private readonly deps: TaskRunDeps) {
    this.id = task.id;
    this.reservationId = task.reservation_id;
    const serverLease = Date.parse(task.lease_expires_at) - Date.now();
    // Clocks may differ; a lease we cannot interpret is taken as the protocol's default of 60 s.
    this.leaseMs = Number.isFinite(serverLease) && serverLease >= 5_000 ? Math.min(serverLease, 600_000) : 60_000;
    this.leaseDeadline = Date.now() + this.leaseMs;
    this.log = deps.log.child({ task_id: task.id, code_name: task.code_name, attempt: task.attempt });
  }

  get phase(): string {
    return this.state.phase;
  }

  /**
   * Whether the sandbox objects of this task are still in use. Once its removal is under way they are
   * not: if that removal fails (the engine was away), the orphan reaper may take them.
   */
  get usesEngineObjects(): boolean {
    return this.cleanup === undefined;
  }

  /** Idempotent; the first reason wins. */
  stop(reason: StopReason): void {
    if (reason === 'lost' || reason === 'fenced') this.gone.abort(reason);
    if (this.stopReason !== undefined || this.state.phase === 'done') return;
    this.stopReason = reason;
    this.log.info({ reason, phase: this.state.phase }, 'stopping task');
    this.ctl.abort(reason);
  }

  async run(): Promise<void> {
    this.deps.events.emit('task.reserved', {
      taskId: this.id, reservationId: this.reservationId, image: this.task.image ?? '', codeName: this.task.code_name, attempt: this.task.attempt,
    });
    const shipper = new LogShipper({
      api: this.deps.api, taskId: this.id, reservationId: this.reservationId, spoolDir: this.deps.spoolDir, log: this.log, retry: this.deps.deliverRetry,
      onShipped: (n) => this.deps.metrics.logBytes.inc(n),
    });
    try {
      const payload = this.decrypt();
      if (typeof payload === 'string') {
        await this.report(failed(payload), undefined);
        return;
      }
      this.state.to('preparing');
      await shipper.open();
      const result = await this.execute(payload, shipper);
      if (result !== undefined) await this.report(result.outcome, shipper, result.giveBack);
    } catch (err) {
      this.log.error({ err: toError(err) }, 'task failed inside the runner');
      await this.report(failed(`runner error: ${toError(err).message}`), shipper);
    } finally {
      if (this.state.phase !== 'done') this.state.to('done');
      await shipper.dispose();
      // The slot stays taken until the engine is done with this task.
      await this.cleanup;
    }
  }

  /** The plaintext payload, or the msg the task is finished `error` with (it is never run). */
  private decrypt(): Buffer | string {
    const key = this.deps.config.decryptionKey;
    if (key === undefined) return Buffer.from(this.task.payload ?? '', 'utf8');
    this.state.to('decrypting');
    try {
      return decryptPayload(key, this.task.payload ?? '');
    } catch (err) {
      const code = isIronError(err) ? err.code : 'ERR_PAYLOAD_AUTH';
      this.log.warn({ code }, 'payload rejected; the task is not run');
      if (code === 'ERR_PAYLOAD_NOT_BASE64' || code === 'ERR_PAYLOAD_TOO_SHORT') {
        return "payload is not encrypted: this cluster's runners decrypt every payload (queue it with --encryption-key-file)";
      }
      if (code === 'ERR_PAYLOAD_WRONG_KEY_SIZE') {
        return `payload was encrypted for a different key: this cluster's key has ${key.bits} bits, the payload was encrypted for a smaller one (or cut short)`;
      }
      return "payload authentication failed (not encrypted with this cluster's public key, or altered)";
    }
  }

  /** Runs the container; undefined when nothing must be reported (start refused, lease lost). */
  private async execute(payload: Buffer, shipper: LogShipper): Promise<{ outcome: TaskOutcome; giveBack: boolean } | undefined> {
    if ((this.task.image ?? '') === '') {
      // Legacy zip uploads (the npm client's codesUpload, runtime "sh") name no image to run them in.
      return { outcome: failed('the code has no image to run in: upload it again with one (iron worker upload --zip FILE IMAGE CMD...)'), giveBack: false };
    }
    const spec = buildTaskSpec(this.task, payload, this.deps.config);
    let code: TaskCode | undefined;
    try {
      code = await loadTaskCode(this.task, { api: this.deps.api, cache: this.deps.codeCache, config: this.deps.config, metrics: this.deps.metrics }, this.ctl.signal);
    } catch (err) {
      return this.codeFailure(err);
    }
    if (code !== undefined) spec.code = code.files;
    try {
      return await this.runSpec(spec, shipper);
    } finally {
      code?.close();
    }
  }

  /** Why the package could not be had decides the report: not ours, a transient failure, or the task's error. */
  private codeFailure(err: unknown): { outcome: TaskOutcome; giveBack: boolean } | undefined {
    if (this.gone.signal.aborted || isIronError(err, 'ERR_API_FORBIDDEN')) {
      this.log.warn('the API no longer holds this reservation; not downloading its code package');
      return undefined;
    }
    if (this.ctl.signal.aborted) return { outcome: failed('cancelled'), giveBack: false };
    const code = isIronError(err) ? err.code : 'ERR_UNKNOWN';
    this.log.warn({ code, err: toError(err) }, 'code package unusable; the task is not run');
    // The API or the network was away: another attempt (here or elsewhere) can succeed.
    if (isIronError(err) && err.retryable && !code.startsWith('ERR_ZIP_')) return { outcome: failed(`code package download failed: ${toError(err).message}`), giveBack: true };
    if (code === 'ERR_CODE_CHECKSUM') return { outcome: failed(`code package refused: ${toError(err).message}`), giveBack: false };
    if (code.startsWith('ERR_ZIP_')) return { outcome: failed(`code package refused (${code}): ${toError(err).message}`), giveBack: false };
    return { outcome: failed(`code package unavailable: ${toError(err).message}`), giveBack: false };
  }

  private async runSpec(spec: TaskSpec, shipper: LogShipper): Promise<{ outcome: TaskOutcome; giveBack: boolean } | undefined> {
    const masker = new SecretMasker(secretValues(spec.env));
    // `started`: the API accepted the start; `mayHaveRun`: the engine was asked to start the job.
    let started = false;
    let mayHaveRun = false;
    try {
      const outcome = await this.deps.sandbox.runTask(spec, {
        onOutput: async (chunk, stream) => {
          const safe = masker.push(chunk);
          if (this.deps.config.logJobOutput && safe.length > 0) this.log.info({ stream, output: safe.toString('utf8') }, 'job output');
          await shipper.write(safe);
        },
        deferCleanup: (cleanup) => {
          this.cleanup = cleanup;
        },
        onCreated: (containerId) => {
          this.containerId = containerId;
          this.deps.metrics.pickup.observe((performance.now() - this.reservedAt) / 1000);
        },
        beforeStart: async (signal) => {
          await this.deps.api.start(this.id, this.reservationId, signal, { retry: SHORT_RETRY });
          started = true;
        },
        onStarting: () => {
          this.state.to('running');
          mayHaveRun = true;
        },
      }, this.ctl.signal);
      await shipper.write(masker.flush());
      this.deps.metrics.runDuration.observe({ outcome: outcome.status }, outcome.durationMs / 1000);
      const outside = await this.stoppedOutside(outcome);
      if (outside !== undefined) {
        if (outside.engineDown) this.deps.onEngineFailure?.();
        return { outcome: { ...outcome, msg: outside.msg }, giveBack: false };
      }
      return { outcome: { ...outcome, msg: this.explainOom(outcome) }, giveBack: false };
    } catch (err) {
      if (isIronError(err, 'ERR_API_CONFLICT') && !started) {
        this.log.warn('the API no longer holds this reservation; not running the task');
        return undefined;
      }
      if (this.gone.signal.aborted) return undefined;
      const engineDown = engineTrouble(err);
      if (engineDown) this.deps.onEngineFailure?.();
      // Before the job could run, a transient failure (the engine's or the API's) gives the task back,
      // a bounded number of times; anything else (the engine refused this task, bad input) ends it
      // `error` with the reason, because another attempt would meet the same refusal.
      const transient = engineDown || (isIronError(err) && err.code.startsWith('ERR_API_') && err.retryable);
      const giveBack = !mayHaveRun && transient && this.task.attempt < MAX_GIVE_BACK_ATTEMPTS;
      const reason = toError(err).message;
      let msg = engineDown || isIronError(err, 'ERR_ENGINE_FAILED') ? `docker engine error: ${reason}` : `task refused: ${reason}`;
      if (!mayHaveRun && transient && !giveBack) msg = `given back ${this.task.attempt} times without running; last failure: ${msg}`;
      this.log.error({ err: toError(err), started: mayHaveRun, give_back: giveBack }, 'sandbox failed');
      return { outcome: failed(msg), giveBack };
    }
  }

  /** An OOM kill under a grant the runner lowered says so: the task did get less than it asked. */
  private explainOom(outcome: TaskOutcome): string {
    const memory = taskLimits(this.task, this.deps.config).memory;
    if (outcome.status !== 'killed' || !memory.capped || memory.asked === undefined) return outcome.msg;
    return `${outcome.msg}; the task asks ${formatSize(memory.asked)}, this runner grants at most ${formatSize(memory.granted)} (MEMORY_PER_JOB)`;
  }

  /**
   * A job that died of SIGTERM/SIGKILL we did not send: was it the engine (its shutdown, or an operator's
   * docker stop/kill)? Reporting a bare "exit code 143" would blame the job.
   */
  private async stoppedOutside(outcome: TaskOutcome): Promise<{ msg: string; engineDown: boolean } | undefined> {
    if (outcome.status !== 'error' || (outcome.exitCode !== 143 && outcome.exitCode !== 137) || this.stopReason !== undefined) return undefined;
    if (this.containerId === undefined) return undefined;
    const cause = await this.deps.sandbox.stopCause(this.containerId, this.reservedWallMs, AbortSignal.timeout(5_000));
    if (cause === 'engine-down') return { msg: `docker engine stopped while the task ran (${outcome.msg})`, engineDown: true };
    if (cause === 'external') return { msg: `stopped by the docker engine, not by the job (engine shutdown, docker stop or docker kill; ${outcome.msg})`, engineDown: false };
    return undefined;
  }

  private async report(outcome: TaskOutcome, shipper: LogShipper | undefined, giveBack = false): Promise<void> {
    const status = this.reportedStatus(outcome, giveBack);
    if (status === undefined) {
      this.log.info({ reason: this.stopReason }, 'task no longer ours; not reporting');
      return;
    }
    if (this.state.phase !== 'reporting' && this.state.phase !== 'done') this.state.to('reporting');
    const signal = AbortSignal.any([this.deps.hardStop, this.gone.signal]);
    let logSize = 0;
    try {
      if (shipper !== undefined) logSize = await shipper.close(signal);
      const body: FinishRequest = {
        reservation_id: this.reservationId, status, exit_code: outcome.exitCode,
        msg: status === 'complete' ? '' : outcome.msg, duration_ms: Math.round(outcome.durationMs), log_size: logSize,
        ...(outcome.truncated || shipper?.truncated === true ? { log_truncated: true } : {}),
      };
      await this.deps.api.finish(this.id, body, signal, { retry: this.deps.deliverRetry });
      if (status === 'requeue') this.deps.events.emit('task.given_back', { taskId: this.id, why: this.stopReason === 'requeue' ? 'drain' : 'transient' });
      else this.deps.events.emit('task.finished', { taskId: this.id, status, reason: body.msg, exitCode: outcome.exitCode, durationMs: body.duration_ms, logBytes: logSize, ageMs: this.state.age() });
    } catch (err) {
      if (isIronError(err, 'ERR_API_CONFLICT')) {
        this.log.warn({ status }, 'finish refused: the reservation was superseded; dropping the report');
        return;
      }
      this.deps.metrics.apiErrors.inc({ call: 'finish', code: isIronError(err) ? err.code : 'ERR_UNKNOWN' });
      this.log.error({ err: toError(err), status }, 'could not deliver the task outcome');
    }
  }

  private reportedStatus(outcome: TaskOutcome, giveBack: boolean): FinishStatus | undefined {
    if (this.gone.signal.aborted) return undefined;
    if (this.stopReason === 'requeue' || giveBack) return 'requeue';
    if (this.stopReason === 'cancel') return 'cancelled';
    return outcome.status;
  }
}

function failed(msg: string): TaskOutcome {
  return { status: 'error', msg, exitCode: null, durationMs: 0, logBytes: 0, truncated: false };
}
