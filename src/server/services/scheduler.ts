// Time-driven work: delayed tasks becoming available, lease expiry, schedules. One timer armed for
// the store's next deadline (capped so a missed poke costs at most the store's backstop interval:
// 5 s on SQLite, 1 s on PostgreSQL, where another replica may have queued what is due), re-armed
// earlier whenever a state change creates an earlier deadline. Every replica ticks; the store makes
// each step safe to run on all of them at once.
import type { Logger } from '../../log.js';
import type { ServerMetrics } from '../metrics.js';
import type { Store, TaskRules } from '../store/ports.js';
import type { ReadyCount } from '../store/records.js';
import type { Wakeups } from './wakeups.js';

type Announce = (ready: readonly ReadyCount[]) => void;

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Number.POSITIVE_INFINITY;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastSweep = 0;
  /** How often one parked reserve per cluster looks anyway, in case a change woke nobody (a lost notification). */
  private readonly sweepMs: number;
  private announce: Announce;

  constructor(
    private readonly store: Store,
    private readonly wakeups: Wakeups,
    private readonly rules: TaskRules,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
    /** Aborted when the services close: a tick's store calls end with them. */
    private readonly signal: AbortSignal,
  ) {
    this.sweepMs = store.ready.backstopMs;
    this.announce = (ready) => wakeups.wakeReady(ready);
  }

  /** What a tick made reservable goes through this (services.ts: wake here and tell the other replicas). */
  onReady(announce: Announce): void {
    this.announce = announce;
  }

  start(): void {
    this.arm(Date.now());
  }

  /** Something becomes due at `at`: make sure the timer fires no later than that. */
  poke(at: number): void {
    if (this.stopped || at >= this.armedAt) return;
    this.arm(at);
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    const now = Date.now();
    const target = Math.min(at, now + this.sweepMs);
    this.armedAt = target;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.armedAt = Number.POSITIVE_INFINITY;
        this.running = this.tick().finally(() => {
          this.running = undefined;
        });
      },
      Math.max(0, target - now),
    );
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let next: number | null = null;
    try {
      const now = Date.now();
      const signal = this.signal;
      const expired = await this.store.leases.expireLeases(now, this.rules, signal);
      if (expired.requeued > 0) this.metrics.leaseExpiries.inc({ outcome: 'requeued' }, expired.requeued);
      if (expired.lost > 0) this.metrics.leaseExpiries.inc({ outcome: 'runner_lost' }, expired.lost);
      if (expired.requeued + expired.lost > 0) this.log.warn({ ...expired }, 'leases expired');
      const scheduled = await this.store.schedules.runDueSchedules(now, signal);
      if (scheduled.queued > 0) this.metrics.tasksQueued.inc({ source: 'schedule' }, scheduled.queued);
      // Delayed tasks whose time came, requeued tasks, scheduled tasks: wake that many reserves of their clusters.
      const due = await this.store.deadlines.promoteDue(now, signal);
      for (const ready of [expired.ready, scheduled.ready, due]) if (ready.length > 0) this.announce(ready);
      // Safety net for a change that becomes reservable without a wake-up of its own (a code's
      // max_concurrency raised by a new revision, ...): one reserve per cluster, not all of them.
      if (now - this.lastSweep >= this.sweepMs) {
        this.lastSweep = now;
        for (const c of this.wakeups.clusters()) this.wakeups.wake(c, 1);
      }
      next = await this.store.deadlines.nextDeadline(Date.now(), signal);
    } catch (err) {
      this.log.error({ err }, 'scheduler tick failed');
    }
    if (!this.stopped) this.arm(next ?? Number.POSITIVE_INFINITY);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
