// Phase two of a task: the prepared container from start to removal (the PreparedTask contract in
// types.ts). The create and the attach run in the background from prepare on; start awaits them and
// the input, then asks the engine to start the job; a supervisor waits for the exit under the timeout
// and stop(), drains the output, inspects and classifies (outcome.ts). The outcome is known before
// the removal: dispose removes the container, the input and the image lease on every path, including
// failures of create, attach, start and the output sink.
import type { Logger } from 'pino';
import type { Readable } from 'node:stream';
import { toError } from '../errors.js';
import type { ContainerCreateBody, ContainerEngine } from './engine.js';
import { classify, createRefusal, maybeStoppedOutside, SIGKILL_EXIT, startRefusal, stopCause, type Verdict } from './outcome.js';
import { newOutputResult, pumpOutput } from './output.js';
import { lateOomFlag } from './late-oom.js';
import { ContainerStopper } from './stop.js';
import type { OutputSink, PreparedTask, SandboxOutcome } from './types.js';
import { UsageMeter } from './usage-meter.js';

/** One removal step; never rejects. */
export type Cleanup = () => Promise<void>;

export interface ContainerPlan {
  engine: ContainerEngine;
  log: Logger;
  body: ContainerCreateBody;
  /** Settles when the input is in place: the job must not start before (a rejection means it never does). */
  filled: Promise<void>;
  /** Removal steps so far (image lease, input); the container's own is added once it exists. */
  cleanups: Cleanup[];
  /** Prepare's signal: it bounds the preparation, the create and attach included, until the job starts. */
  signal: AbortSignal;
  t0: number;
  /** Wall-clock time of prepare: the engine's event log is asked from here (stopCause). */
  wallT0: number;
  timeoutMs: number;
  memoryBytes: number;
  maxLogBytes: number;
  stopGraceMs: number;
}

/** How long output may keep draining after a stopped container, before we cut the stream. */
const CANCEL_DRAIN_MS = 5_000;
const CLEANUP_MS = 30_000;

interface Created {
  id: string;
  stream: Readable;
}

const cancelled: Verdict = { kind: 'cancelled', reason: 'cancelled', exitCode: null };
const failure = (err: unknown, engineAsked: boolean): Verdict => {
  const error = toError(err);
  return { kind: 'failed', error, engineAsked, reason: error.message, exitCode: null };
};

export class TaskContainer implements PreparedTask {
  private outcome: SandboxOutcome | undefined;
  private resolveOutcome: (o: SandboxOutcome) => void = () => undefined;
  private readonly settled: Promise<SandboxOutcome>;
  private started = false;
  private stopReason: string | undefined;
  /** Set while the job runs: stops it (SIGTERM, grace, SIGKILL). */
  private halt: ((why: string) => void) | undefined;
  /** Attach and wait live past the caller's signals: after a stop we still drain output and see the exit. */
  private readonly internal = new AbortController();
  private readonly output = newOutputResult();
  private creating: Promise<Created | Verdict> | undefined;
  private disposing: Promise<void> | undefined;
  private readonly meter = new UsageMeter();

  private constructor(
    private readonly plan: ContainerPlan | undefined,
    private readonly cleanups: Cleanup[],
    private readonly t0: number,
    private readonly log: Logger,
  ) {
    this.settled = new Promise((resolve) => {
      this.resolveOutcome = resolve;
    });
  }

  /** A task whose outcome preparing decided: not runnable; dispose still runs what was prepared. */
  static ended(verdict: Verdict, t0: number, cleanups: Cleanup[], log: Logger): TaskContainer {
    const t = new TaskContainer(undefined, cleanups, t0, log);
    t.settle(verdict);
    return t;
  }

  /** Requests the create now (and attaches once it exists); start() awaits both. */
  static create(plan: ContainerPlan): TaskContainer {
    const t = new TaskContainer(plan, plan.cleanups, plan.t0, plan.log);
    t.creating = t.createContainer(plan).catch((err: unknown) => failure(err, false));
    return t;
  }

  get runnable(): boolean {
    return this.creating !== undefined && this.outcome === undefined;
  }

  wait(): Promise<SandboxOutcome> {
    return this.settled;
  }

  stop(reason: string): void {
    if (this.stopReason !== undefined || this.outcome !== undefined) return;
    this.stopReason = reason;
    // Before start() the job never runs; during it, start() sees the reason before asking the engine.
    if (!this.started) this.settle(cancelled);
    else this.halt?.(reason);
  }

  async start(onOutput: OutputSink, signal: AbortSignal): Promise<void> {
    const plan = this.plan;
    if (plan === undefined || this.creating === undefined || this.started || this.outcome !== undefined) return;
    this.started = true;
    const stopAsked = (): boolean => this.stopReason !== undefined || signal.aborted || plan.signal.aborted;
    const created = await this.creating;
    if (this.outcome !== undefined) return;
    if (!('id' in created)) return this.settle(created);
    let consumerError: Error | undefined;
    const pump: Promise<void> = pumpOutput(created.stream, onOutput, plan.maxLogBytes, this.output).then(
      () => undefined,
      (err: unknown) => {
        // A stream we cut ourselves is not the consumer's failure.
        if (!this.internal.signal.aborted) consumerError = toError(err);
      },
    );
    try {
      await plan.filled;
    } catch (err) {
      return this.settle(stopAsked() ? cancelled : failure(err, false));
    }
    if (this.outcome !== undefined) return;
    if (stopAsked()) return this.settle(cancelled);

    // From here on the job may have run (engineAsked).
    const startedAt = performance.now();
    try {
      // Not the caller's signal: a stop that lands while start is in flight must still reach the
      // job as SIGTERM + grace (the supervisor), not as the force-remove an aborted start would leave.
      await plan.engine.containerStart(created.id, AbortSignal.any([this.internal.signal, AbortSignal.timeout(CLEANUP_MS)]));
    } catch (err) {
      const refusal = startRefusal(err);
      if (refusal !== undefined) return this.settle({ kind: 'refused', reason: refusal, exitCode: null });
      return this.settle(stopAsked() ? cancelled : failure(err, true));
    }
    if (this.outcome !== undefined) return;
    plan.log.debug({ container_id: created.id }, 'task container started');
    void this.supervise(plan, created.id, startedAt, pump, () => consumerError);
    if (signal.aborted || plan.signal.aborted) this.stop('cancelled');
  }

  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      // A task disposed before its outcome is abandoned: its waiters learn it was cancelled.
      this.settle(cancelled);
      this.internal.abort();
      // The container's removal step exists once its create returned.
      if (this.creating !== undefined) await this.creating;
      for (const step of this.cleanups.reverse()) {
        await step().catch((err: unknown) => this.log.warn({ err }, 'task cleanup step failed; the orphan reaper will retry'));
      }
    })();
    return this.disposing;
  }

  private async createContainer(plan: ContainerPlan): Promise<Created | Verdict> {
    const { engine, log } = plan;
    let id: string;
    try {
      id = await engine.containerCreate(plan.body, plan.signal);
    } catch (err) {
      if (plan.signal.aborted) return cancelled;
      const refusal = createRefusal(err);
      return refusal === undefined ? failure(err, false) : { kind: 'refused', reason: refusal, exitCode: null };
    }
    this.cleanups.push(async () => {
      await engine.containerRemove(id, AbortSignal.timeout(CLEANUP_MS)).catch((err: unknown) => {
        log.warn({ err, container_id: id }, 'task container not removed; the orphan reaper will retry');
      });
    });
    try {
      return { id, stream: await engine.containerAttach(id, this.internal.signal) };
    } catch (err) {
      return this.internal.signal.aborted ? cancelled : failure(err, false);
    }
  }

  /** Waits for the exit under the timeout and stop(); then drains, inspects and classifies. */
  private async supervise(plan: ContainerPlan, id: string, startedAt: number, pump: Promise<void>, consumerError: () => Error | undefined): Promise<void> {
    const { engine, log } = plan;
    const waitP = engine.containerWait(id, this.internal.signal);
    waitP.catch(() => undefined);
    this.meter.follow(engine, id, this.internal.signal);
    const stopper = new ContainerStopper(engine, id, plan.stopGraceMs);
    let timedOut = false;
    let stopped = false;
    let stopP: Promise<void> | undefined;
    const halt = (why: string): void => {
      log.info({ container_id: id, why }, 'stopping task container');
      stopP ??= stopper.stop(waitP).catch((err: unknown) => log.warn({ err }, 'stopping the task container failed'));
    };
    this.halt = (why) => {
      stopped = true;
      halt(why);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      halt('timeout');
    }, plan.timeoutMs);
    // A stop that landed while the engine's start was in flight.
    if (this.stopReason !== undefined) this.halt(this.stopReason);
    // A sink that throws cannot take more output; stop the job rather than let it block on a full pipe.
    void pump.then(() => {
      if (consumerError() !== undefined) halt('output consumer failed');
    });
    try {
      let exitCode: number;
      try {
        exitCode = await waitP;
      } finally {
        clearTimeout(timer);
        this.halt = undefined;
      }
      const durationMs = Math.round(performance.now() - startedAt);
      await stopP;
      await drain(pump, stopped || timedOut, this.internal);
      const sinkError = consumerError();
      if (sinkError !== undefined && !stopped) throw sinkError;
      const state = await engine.containerInspect(id, AbortSignal.timeout(CLEANUP_MS));
      const finalCode = state.running ? exitCode : state.exitCode;
      const ours = stopped || timedOut;
      const oomKilled = state.oomKilled || (!ours && finalCode === SIGKILL_EXIT && (await lateOomFlag(engine, id, AbortSignal.timeout(CLEANUP_MS))));
      let verdict = classify({
        cancelled: stopped,
        timedOut,
        timeoutMs: plan.timeoutMs,
        memoryBytes: plan.memoryBytes,
        oomKilled,
        exitCode: finalCode,
        stderrHead: this.output.stderrHead,
      });
      if (maybeStoppedOutside(verdict)) verdict = (await stopCause(engine, id, plan.wallT0, verdict, AbortSignal.timeout(5_000))) ?? verdict;
      log.info({ container_id: id, outcome: verdict.kind, exit_code: verdict.exitCode, duration_ms: durationMs, oom: oomKilled }, 'task container exited');
      this.settle(verdict, durationMs);
    } catch (err) {
      this.settle(failure(err, true), Math.round(performance.now() - startedAt));
    } finally {
      this.internal.abort();
    }
  }

  /** The first outcome wins; a later one (a removal racing the exit) is dropped. */
  private settle(v: Verdict, durationMs = Math.round(performance.now() - this.t0)): void {
    if (this.outcome !== undefined) return;
    this.halt = undefined;
    const usage = this.meter.usage();
    this.outcome = { ...v, durationMs, logBytes: this.output.logBytes, truncated: this.output.truncated, ...(usage === undefined ? {} : { usage }) };
    this.resolveOutcome(this.outcome);
  }
}

/** Waits for the output to be delivered; after a stop the wait is bounded, then the stream is cut. */
async function drain(pump: Promise<void>, bounded: boolean, internal: AbortController): Promise<void> {
  if (!bounded) return pump;
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CANCEL_DRAIN_MS);
  });
  const first = await Promise.race([pump.then(() => 'done' as const), cut.then(() => 'cut' as const)]);
  clearTimeout(timer);
  if (first === 'cut') internal.abort();
  return pump;
}
