// The runner daemon's core: startup (orphans given back, the cluster checked: startup-check.ts), the long-poll loop that reserves only as many tasks as
// there are free slots, the heartbeat, drain and give-back. Stop is not cancel: drain lets running
// tasks finish; only after DRAIN_TIMEOUT (or a second signal) are they stopped and given back.
import { hostname } from 'node:os';
import path from 'node:path';
import PQueue from 'p-queue';
import { AUTH_BACKOFF, DELIVER_RETRY, POLL_BACKOFF, SHORT_RETRY, backoff, type ReservedTask, type RunnerApi } from '../api/index.js';
import { describeApi, type RunnerConfig } from '../config/runner.js';
import { errorCodeOf, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Sandbox } from '../sandbox/index.js';
import type { RunnerReport } from '../protocol/runner.js';
import { VERSION } from '../version.js';
import { ApiHealth } from './api-health.js';
import { Heartbeat } from './heartbeat.js';
import { checkCluster } from './startup-check.js';
import { taskLimits } from './limits.js';
import type { RunnerEvents } from './events.js';
import type { RunnerMetrics } from './metrics.js';
import type { CodeCache } from './code-cache.js';
import { createCodeCache } from './task-code.js';
import { TaskRun } from './task-run.js';
import { Warmer } from './warmer.js';

export interface RunnerDeps {
  config: Readonly<RunnerConfig>;
  api: RunnerApi;
  sandbox: Sandbox;
  instanceId: string;
  /** For the task runs' own lines; the runner's lifecycle goes to `events`. */
  log: Logger;
  events: RunnerEvents;
  metrics: RunnerMetrics;
  spoolDir: string;
  /** Default: JOBS_DIR/code-cache with CODE_CACHE_SIZE. */
  codeCache?: CodeCache;
}

export class Runner {
  private readonly active = new Map<string, TaskRun>();
  /** Memory granted to each task that holds a slot (limits.ts); their sum never exceeds JOBS_MEMORY. */
  private readonly granted = new Map<TaskRun, number>();
  /** Runs replaced by a newer reservation of the same task (that reservation's lease is gone). */
  private readonly retiring = new Set<TaskRun>();
  private readonly slots: PQueue;
  private readonly heartbeat: Heartbeat;
  private readonly warmer: Warmer;
  private readonly pollCtl = new AbortController();
  private readonly hardStopCtl = new AbortController();
  private draining = false;
  private loop: Promise<void> | undefined;
  private drained: Promise<void> | undefined;
  /** The last failed API call, until one succeeds again (for /readyz). */
  private readonly apiHealth: ApiHealth;
  private engineDown: Promise<void> | undefined;
  private readonly codeCache: CodeCache;

  constructor(private readonly d: RunnerDeps) {
    this.codeCache = d.codeCache ?? createCodeCache(path.join(d.config.jobsDir, 'code-cache'), d.config, d.events);
    this.slots = new PQueue({ concurrency: d.config.concurrency });
    this.apiHealth = new ApiHealth(d.config);
    this.heartbeat = new Heartbeat(
      d.api,
      d.instanceId,
      {
        tasks: () => this.active.values(),
        cancel: (id, rid) => this.held(id, rid)?.stop('cancel'),
        lost: (id, rid) => this.held(id, rid)?.stop('lost'),
        fence: (id, rid) => {
          const run = this.held(id, rid);
          if (run === undefined) return;
          d.events.emit('task.fenced', { taskId: id });
          run.stop('fenced');
        },
        warmCursor: () => (d.config.prePull ? this.warmer.cursor : undefined),
        warm: (answer) => {
          if (!this.draining) this.warmer.take(answer);
        },
        report: () => this.report(),
      },
      d.events,
      d.metrics,
    );
    d.metrics.slotsTotal.set(d.config.concurrency);
    this.warmer = new Warmer(d.sandbox, d.events);
  }

  private readonly startedAt = new Date().toISOString();

  /** This runner as its heartbeats describe it (docs/protocol.md, `runner`). */
  private report(): RunnerReport {
    return {
      hostname: hostname().slice(0, 255),
      version: VERSION,
      slots_total: this.d.config.concurrency,
      slots_busy: this.busy,
      draining: this.draining,
      engine_version: this.d.sandbox.engineVersion.slice(0, 255),
      started_at: this.startedAt,
    };
  }

  /** The run of this task under this reservation, if it is still the one we hold. */
  private held(taskId: string, reservationId: string): TaskRun | undefined {
    const t = this.active.get(taskId);
    return t?.reservationId === reservationId ? t : undefined;
  }

  /** Tasks in a slot: the held ones and superseded runs still finishing (their slot is not free yet). */
  private get busy(): number {
    return this.active.size + this.retiring.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** undefined when the API answered within the last minute; else what the last call met. */
  apiProblem(withinMs = 60_000): string | undefined {
    return this.apiHealth.problem(withinMs);
  }

  /** Startup: give back what a previous run of this instance left, check the cluster, then poll. */
  async start(signal: AbortSignal): Promise<void> {
    await this.giveBackOrphans(signal);
    await checkCluster(this.d, this.apiHealth, signal);
    this.heartbeat.start();
    this.loop = this.pollLoop();
  }

  /** First signal: stop reserving; running tasks go on up to DRAIN_TIMEOUT, then are given back. Idempotent. */
  drain(): Promise<void> {
    if (this.drained !== undefined) return this.drained;
    this.draining = true;
    this.wakeSlot?.();
    this.d.events.emit('runner.draining', { running: this.active.size, drainTimeoutMs: this.d.config.drainTimeoutMs });
    this.drained = (async () => {
      await this.stopPolling();
      await this.warmer.stop();
      const timer = setTimeout(() => this.giveBackAll('drain timeout reached'), this.d.config.drainTimeoutMs);
      timer.unref();
      await this.slots.onIdle();
      clearTimeout(timer);
      await this.heartbeat.stop();
      this.d.events.emit('runner.drained', {});
    })();
    return this.drained;
  }

  /**
   * Ends the long-poll without stranding a reservation: asks the API to release our parked reserve so
   * its answer arrives (tasks in it are given back), and only hangs up if that does not work quickly.
   */
  private async stopPolling(): Promise<void> {
    const loop = this.loop;
    if (loop === undefined) return;
    for (let i = 0; i < 3; i++) {
      await this.d.api.release(this.d.instanceId, AbortSignal.timeout(1_000)).catch(() => undefined);
      const ended = await Promise.race([loop.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 700).unref())]);
      if (ended) return;
    }
    this.pollCtl.abort();
    await loop;
  }

  /** A task met an engine failure: take no tasks until the engine answers again. Idempotent. */
  engineFailed(): void {
    if (this.engineDown !== undefined) return;
    this.d.events.emit('engine.down', {});
    this.engineDown = this.waitForEngine().finally(() => {
      this.engineDown = undefined;
    });
  }

  private async waitForEngine(): Promise<void> {
    for (let attempt = 1; !this.draining; attempt++) {
      try {
        await this.d.sandbox.ping(AbortSignal.timeout(3_000));
        break;
      } catch {
        await backoff(attempt, POLL_BACKOFF, this.pollCtl.signal).catch(() => undefined);
      }
    }
    if (this.draining) return;
    // Containers of tasks that ended while the engine was away could not be removed then.
    try {
      const inUse = [...this.active.values(), ...this.retiring].filter((t) => t.usesEngineObjects).map((t) => t.id);
      await this.d.sandbox.reapOrphans(AbortSignal.timeout(30_000), new Set(inUse));
    } catch (err) {
      this.d.events.emit('engine.reap_failed', { code: errorCodeOf(err) });
    }
    this.d.events.emit('engine.up', {});
  }

  /** Second signal: stop every running task now and give it back. */
  giveBackAll(why: string): void {
    if (this.active.size > 0) this.d.events.emit('runner.giving_back', { tasks: [...this.active.keys()], why });
    for (const t of this.active.values()) t.stop('requeue');
    void this.drain();
  }

  /** Last resort when the process must exit: abandon report retries. */
  abandon(): void {
    this.hardStopCtl.abort();
  }

  private async giveBackOrphans(signal: AbortSignal): Promise<void> {
    const reaped = await this.d.sandbox.reapOrphans(signal);
    const tasks = reaped.flatMap((t) => (t.taskId === '' || t.reservationId === undefined ? [] : [{ taskId: t.taskId, reservationId: t.reservationId }]));
    await this.giveBack(tasks, 'runner restarted', signal);
  }

  /** Returns reserved tasks that never ran here to the queue (finish `requeue`). */
  private async giveBack(tasks: ReadonlyArray<{ taskId: string; reservationId: string }>, why: string, signal = this.hardStopCtl.signal): Promise<void> {
    for (const t of tasks) {
      try {
        await this.d.api.finish(
          t.taskId,
          {
            reservation_id: t.reservationId,
            status: 'requeue',
            exit_code: null,
            msg: why,
            duration_ms: 0,
            log_size: 0,
          },
          signal,
          { retry: SHORT_RETRY },
        );
        this.d.events.emit('task.given_back', { taskId: t.taskId, why });
      } catch (err) {
        // Superseded or unreachable: the lease expiry on the server requeues it anyway.
        this.d.events.emit('task.give_back_failed', { taskId: t.taskId, code: errorCodeOf(err) });
      }
    }
  }

  /**
   * How many tasks to reserve now: free slots, and no more than fit in the memory not yet granted,
   * counting each new task at the most it can be granted (its ask is known only once reserved).
   * An idle runner always takes one, even when MEMORY_PER_JOB is above JOBS_MEMORY.
   */
  private reservable(): number {
    const c = this.d.config;
    const free = c.concurrency - this.busy;
    let used = 0;
    for (const m of this.granted.values()) used += m;
    const fit = this.busy === 0 ? Math.max(1, Math.floor(c.jobsMemory / c.memoryPerJob)) : Math.floor((c.jobsMemory - used) / c.memoryPerJob);
    return Math.max(0, Math.min(free, fit));
  }

  private async pollLoop(): Promise<void> {
    const signal = this.pollCtl.signal;
    let failures = 0;
    while (!signal.aborted && !this.draining) {
      if (this.engineDown !== undefined) {
        await this.engineDown;
        continue;
      }
      const free = this.reservable();
      if (free <= 0) {
        await this.slotFreed(signal);
        continue;
      }
      try {
        const res = await this.d.api.reserve(
          {
            instance_id: this.d.instanceId,
            n: free,
            wait: this.d.config.pollWaitS,
            ...(this.d.config.prePull ? { warm_cursor: this.warmer.cursor } : {}),
          },
          signal,
        );
        this.apiHealth.answered();
        failures = 0;
        this.heartbeat.learn(res);
        // An answer that raced the drain signal: those tasks were never started here; hand them back.
        if (this.draining)
          await this.giveBack(
            res.tasks.map((t) => ({ taskId: t.id, reservationId: t.reservation_id })),
            'runner draining',
          );
        else {
          for (const task of res.tasks) this.launch(task, res.finish_log_max_bytes ?? 0);
          if (res.tasks.length > 0) this.heartbeat.busy();
          this.warmer.take(res);
        }
      } catch (err) {
        if (signal.aborted || this.draining) break;
        failures++;
        const { code, reason } = this.apiHealth.failed(err);
        const auth = code === 'ERR_API_UNAUTHORIZED' || code === 'ERR_API_FORBIDDEN';
        this.d.events.emit('api.failed', { phase: 'reserve', code, reason, attempt: failures, auth, api: describeApi(this.d.config) });
        await backoff(failures, auth ? AUTH_BACKOFF : POLL_BACKOFF, signal).catch(() => undefined);
      }
    }
  }

  private launch(task: ReservedTask, finishLogMaxBytes: number): void {
    const run = new TaskRun(task, {
      finishLogMaxBytes,
      api: this.d.api,
      sandbox: this.d.sandbox,
      config: this.d.config,
      log: this.d.log,
      events: this.d.events,
      metrics: this.d.metrics,
      spoolDir: this.d.spoolDir,
      deliverRetry: DELIVER_RETRY,
      hardStop: this.hardStopCtl.signal,
      onEngineFailure: () => this.engineFailed(),
      codeCache: this.codeCache,
    });
    // The server reserved this task again: the run we still have is of an earlier reservation that is
    // no longer ours. It stops, and never reports; the new reservation gets the map entry.
    const earlier = this.active.get(run.id);
    if (earlier !== undefined) {
      this.retiring.add(earlier);
      earlier.stop('lost');
    }
    this.active.set(run.id, run);
    this.granted.set(run, taskLimits(task, this.d.config).memory.granted);
    this.d.metrics.slotsBusy.set(this.busy);
    void this.slots.add(async () => {
      try {
        await run.run();
      } catch (err) {
        this.d.events.emit('task.crashed', { taskId: run.id, err: toError(err) });
      } finally {
        if (this.active.get(run.id) === run) this.active.delete(run.id);
        this.retiring.delete(run);
        this.granted.delete(run);
        this.d.metrics.slotsBusy.set(this.busy);
        // `task.released` was emitted by the run itself, once the engine was done with it.
        this.wakeSlot?.();
      }
    });
  }

  private wakeSlot: (() => void) | undefined;

  private slotFreed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.wakeSlot = undefined;
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.wakeSlot = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
