// What a state change makes possible, said once: tasks became reservable (wake that many parked
// reserves of their cluster), a concurrency slot freed up, something becomes due later (arm the
// scheduler). Every service that changes the queue tells this; no route wakes anything itself.
// What became reservable here wakes this replica's own parked reserves first; only what they do not
// cover is published to the other replicas of a shared database (store/ports.ts ReadySignal), whose
// parked reserves are woken by what they hear. So one task wakes about one reserve fleet-wide, not
// one per replica. A local reserve woken that goes away hands its wake-up to another local one (or
// the backstop sweep finds the task within backstopMs).
import type { CodeStore, ReadySignal, TaskStore } from '../store/ports.js';
import type { Code, ReadyCount, Task } from '../store/records.js';
import type { Scheduler } from './scheduler.js';
import type { Wakeups } from './wakeups.js';

export class Readiness {
  constructor(
    private readonly tasks: TaskStore,
    private readonly codes: CodeStore,
    private readonly wakeups: Wakeups,
    private readonly scheduler: Scheduler,
    private readonly signal: ReadySignal,
  ) {}

  private announce(ready: readonly ReadyCount[]): void {
    const rest = this.wakeups.wakeReady(ready);
    if (rest.length > 0) this.signal.publish(rest);
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

  /**
   * A runner's finish: a requeued task, or a code retry queued without delay, is ready again in the
   * task's cluster (a delayed retry arms the scheduler). A plain finish makes nothing reservable but a
   * concurrency slot (slotFreed): waking a reserve for it would only re-run a look that finds nothing.
   */
  finished(t: Task, retryDelayS: number | undefined): void {
    if (t.status === 'queued') this.announce([{ clusterId: t.clusterId, count: 1 }]);
    if (t.retryTaskId === null || retryDelayS === undefined) return;
    if (retryDelayS <= 0) this.announce([{ clusterId: t.clusterId, count: 1 }]);
    else this.scheduler.poke(Date.now() + retryDelayS * 1000);
  }

  /** One parked reserve of the cluster looks (a task given back is ready there again). */
  wakeOne(clusterId: string): void {
    this.announce([{ clusterId, count: 1 }]);
  }

  /**
   * A task of the code left preparing/running: if the code was at its max_concurrency, one of its
   * waiting tasks may run now. One reserve per cluster holding such tasks looks (a wasted look costs
   * one indexed query; a missed one would leave the task waiting for a timeout). A code without a
   * max_concurrency never holds tasks back, so there is nothing to look for. Returns the code.
   */
  async slotFreed(projectId: string, codeId: string, signal: AbortSignal): Promise<Code | undefined> {
    const code = await this.codes.getCode(projectId, codeId, signal);
    if (code !== undefined && (code.maxConcurrency ?? 0) <= 0) return code;
    for (const r of await this.tasks.readyClustersOf(codeId, signal)) this.announce([{ clusterId: r.clusterId, count: 1 }]);
    return code;
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
