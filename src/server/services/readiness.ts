// What a state change makes possible, said once: tasks became reservable (wake that many parked
// reserves of their cluster), a concurrency slot freed up, something becomes due later (arm the
// scheduler). Every service that changes the queue tells this; no route wakes anything itself.
// What became reservable here is also published to the other replicas of a shared database
// (store/ports.ts ReadySignal); their parked reserves are woken by what they hear.
import type { ReadySignal, TaskStore } from '../store/ports.js';
import type { ReadyCount, Task } from '../store/records.js';
import type { Scheduler } from './scheduler.js';
import type { Wakeups } from './wakeups.js';

export class Readiness {
  constructor(
    private readonly tasks: TaskStore,
    private readonly wakeups: Wakeups,
    private readonly scheduler: Scheduler,
    private readonly signal: ReadySignal,
  ) {}

  private announce(ready: readonly ReadyCount[]): void {
    this.wakeups.wakeReady(ready);
    this.signal.publish(ready);
  }

  /** Ready tasks wake as many of their cluster's parked reserves; delayed ones arm the scheduler. */
  queued(tasks: readonly Task[]): void {
    const ready = new Map<string, number>();
    for (const t of tasks) {
      if (t.delay === 0) ready.set(t.clusterId, (ready.get(t.clusterId) ?? 0) + 1);
      else this.scheduler.poke(t.availableAt);
    }
    this.announce([...ready].map(([clusterId, count]) => ({ clusterId, count })));
  }

  /** Tasks of these clusters became reservable (requeued, promoted, queued by a schedule). */
  ready(ready: readonly ReadyCount[]): void {
    this.announce(ready);
  }

  /** One parked reserve of the cluster looks (a task may have been requeued or retried there). */
  wakeOne(clusterId: string): void {
    this.announce([{ clusterId, count: 1 }]);
  }

  /**
   * A task of the code left preparing/running: if the code was at its max_concurrency, one of its
   * waiting tasks may run now. One reserve per cluster holding such tasks looks (a wasted look costs
   * one indexed query; a missed one would leave the task waiting for a timeout).
   */
  async slotFreed(codeId: string, signal: AbortSignal): Promise<void> {
    this.announce((await this.tasks.readyClustersOf(codeId, signal)).map((r) => ({ clusterId: r.clusterId, count: 1 })));
  }

  /** Every waiting task of the code may run now (its queue resumed, its max_concurrency raised). */
  async codeReady(codeId: string, signal: AbortSignal): Promise<void> {
    this.announce(await this.tasks.readyClustersOf(codeId, signal));
  }

  /** Every parked reserve of these clusters: each runner is to act, not just one (image warm-ups). */
  wakeAll(clusterIds: readonly string[]): void {
    for (const id of clusterIds) this.wakeups.wake(id, Number.POSITIVE_INFINITY);
  }

  /** Something becomes due at `at` (a delayed task, a lease end, a schedule run). */
  dueAt(at: number): void {
    this.scheduler.poke(at);
  }
}
