// One heartbeat per runner instance (not per task) extends every lease it holds. Its answer carries
// user cancellations and leases that are no longer ours. If leases cannot be renewed before they
// expire, the runner stops those tasks itself (fencing), so a task never runs on two runners at once.
import type { RunnerApi, WarmAnswer } from '../api/index.js';
import type { RunnerReport } from '../protocol/runner.js';
import { errorCodeOf } from '../errors.js';
import type { RunnerEvents } from './events.js';
import type { RunnerMetrics } from './metrics.js';

export interface LeasedTask {
  readonly id: string;
  readonly reservationId: string;
  /** Local clock time at which the lease runs out unless renewed. */
  leaseDeadline: number;
  readonly leaseMs: number;
}

/**
 * The answer names task ids; each is matched to the reservation this beat sent for that id, never to
 * a newer reservation of the same task that arrived while the beat was in flight (issue 13 item 8b:
 * a stale `lost` for an earlier reservation stopped the new one).
 */
export interface HeartbeatHooks {
  tasks(): Iterable<LeasedTask>;
  cancel(taskId: string, reservationId: string): void;
  lost(taskId: string, reservationId: string): void;
  fence(taskId: string, reservationId: string): void;
  /** Image warm-ups ride along (docs/protocol.md): the cursor to send (undefined: none), and the answer. */
  warmCursor?(): string | undefined;
  warm?(answer: WarmAnswer): void;
  /** Who this runner is and how busy: sent in every beat, so iron-api knows its fleet. */
  report?(): RunnerReport;
}

/** Stop a task this long before its lease would run out, so it is dead before the server reassigns it. */
const FENCE_MARGIN_MS = 2_000;

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  /** The armed timer waits the idle interval (no task was held when it was set). */
  private armedIdle = false;
  private inFlight: Promise<void> | undefined;
  private lastOk = Date.now();
  private readonly ctl = new AbortController();
  intervalMs = 1_000;
  /**
   * The interval while no task is held (nothing to renew; the beat only keeps this runner listed).
   * Undefined until the server names one: an older server gets a beat every `intervalMs`.
   */
  idleIntervalMs: number | undefined;

  constructor(
    private readonly api: RunnerApi,
    private readonly instanceId: string,
    private readonly hooks: HeartbeatHooks,
    private readonly events: RunnerEvents,
    private readonly metrics: RunnerMetrics,
    /** Uniform in [0, 1): where in the idle interval the first idle beat falls (tests pin it). */
    private readonly random: () => number = Math.random,
  ) {}

  start(): void {
    if (this.timer !== undefined || this.ctl.signal.aborted) return;
    this.schedule();
  }

  /** Idempotent; waits for a beat in flight (bounded by the request's own abort). */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.ctl.abort();
    await this.inFlight;
  }

  /** The intervals a reserve or heartbeat answer named (absent fields keep the current ones). */
  learn(answer: { heartbeat_interval_ms?: number; idle_heartbeat_interval_ms?: number }): void {
    if (answer.heartbeat_interval_ms !== undefined && answer.heartbeat_interval_ms > 0) this.intervalMs = answer.heartbeat_interval_ms;
    if (answer.idle_heartbeat_interval_ms !== undefined && answer.idle_heartbeat_interval_ms > 0) this.idleIntervalMs = answer.idle_heartbeat_interval_ms;
  }

  /**
   * A task was leased. A timer armed for the idle interval would leave its lease unrenewed that long
   * (it may be longer than the lease allows for), so the next beat comes within `intervalMs`.
   */
  busy(): void {
    if (this.timer === undefined || !this.armedIdle) return;
    clearTimeout(this.timer);
    this.arm(this.intervalMs, false);
  }

  private schedule(): void {
    if (this.ctl.signal.aborted) return;
    const idle = this.idleIntervalMs !== undefined && isEmpty(this.hooks.tasks());
    if (!idle) {
      this.arm(this.intervalMs, false);
      return;
    }
    const idleMs = Math.max(this.intervalMs, this.idleIntervalMs ?? 0);
    // The first idle beat falls anywhere in the interval, the later ones a whole interval apart. Runners
    // that started or went idle together (a rollout, the end of a batch) would otherwise beat together
    // for as long as they stay idle: 2,000 of them in the same second kept iron-api's heartbeat p99 at
    // 56-190 ms, spread out it is 10-20 ms (docs/benchmarks.md, fifth pass). Beating early is always safe.
    this.arm(this.armedIdle ? idleMs : this.random() * idleMs, true);
  }

  private arm(delayMs: number, idle: boolean): void {
    this.armedIdle = idle;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.beat().finally(() => {
        this.inFlight = undefined;
        this.schedule();
      });
    }, delayMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const tasks = [...this.hooks.tasks()];
    const now = Date.now();
    this.metrics.heartbeatLag.set((now - this.lastOk) / 1000);
    const report = this.hooks.report?.();
    // An idle runner still beats when it reports itself (iron-api lists it); with nothing to renew or report, no call.
    if (tasks.length === 0 && report === undefined) {
      this.lastOk = now;
      return;
    }
    this.fence(tasks, now);
    const sentAt = Date.now();
    try {
      const cursor = this.hooks.warmCursor?.();
      const res = await this.api.heartbeat(
        {
          instance_id: this.instanceId,
          tasks: tasks.map((t) => ({ id: t.id, reservation_id: t.reservationId })),
          ...(cursor === undefined ? {} : { warm_cursor: cursor }),
          ...(report === undefined ? {} : { runner: report }),
        },
        AbortSignal.any([this.ctl.signal, AbortSignal.timeout(Math.max(2_000, this.intervalMs * 3))]),
      );
      this.lastOk = Date.now();
      this.learn(res);
      const lost = new Set(res.lost);
      const sent = new Map(tasks.map((t) => [t.id, t.reservationId]));
      for (const t of tasks) if (!lost.has(t.id)) t.leaseDeadline = sentAt + t.leaseMs;
      for (const id of res.cancel) {
        const rid = sent.get(id);
        if (rid !== undefined) this.hooks.cancel(id, rid);
      }
      for (const id of res.lost) {
        const rid = sent.get(id);
        if (rid !== undefined) this.hooks.lost(id, rid);
      }
      this.hooks.warm?.(res);
    } catch (err) {
      // An idle beat that failed renews nothing; the reserve loop reports the API's trouble.
      if (this.ctl.signal.aborted || tasks.length === 0) return;
      this.events.emit('heartbeat.failed', { code: errorCodeOf(err), tasks: tasks.length });
    }
  }

  private fence(tasks: LeasedTask[], now: number): void {
    for (const t of tasks) {
      if (t.leaseDeadline - now <= FENCE_MARGIN_MS) this.hooks.fence(t.id, t.reservationId);
    }
  }
}

function isEmpty(tasks: Iterable<LeasedTask>): boolean {
  for (const _ of tasks) return false;
  return true;
}
