// Long-poll wake-ups: a reserve that found nothing parks here and is resumed the moment a task of
// its cluster may have become available (queued, requeued, a concurrency slot freed, a delay ended).
// No sleep loop: waiters are plain promises resolved by the code that changed the state.
// A change wakes only as many reserves of the changed cluster as there are new tasks (oldest
// waiter first): 500 parked reserves are not all re-run for one task. A reserve that was woken and
// filled its request wakes the next waiter while more tasks may be left (the cluster's credit of
// announced, not yet taken tasks), one that was woken but went away
// passes its wake-up on, so no task is left with every reserve asleep. Parked reserves per cluster
// are bounded: past the bound `park` refuses (ERR_SERVER_BUSY, a 503 with Retry-After).
import { IronError } from '../../errors.js';
import type { ReadyCount } from '../store/records.js';

export type WakeReason = 'woken' | 'timeout' | 'aborted';

interface Waiter {
  finish(reason: WakeReason): void;
}

export interface Parked {
  readonly promise: Promise<WakeReason>;
  cancel(): void;
}

export class Wakeups {
  private readonly byCluster = new Map<string, Set<Waiter>>();
  /** Parked reserves by `cluster/instance`, for a draining runner's release call. */
  private readonly byInstance = new Map<string, Set<() => void>>();

  constructor(private readonly maxPerCluster = Number.POSITIVE_INFINITY) {}

  /**
   * Registers a waiter BEFORE the caller looks at the store, so a task queued between the look and
   * the wait is not missed. `promise` resolves on wake, timeout or abort; call `cancel` when done.
   */
  park(clusterId: string, timeoutMs: number, signal: AbortSignal): Parked {
    let set = this.byCluster.get(clusterId);
    if ((set?.size ?? 0) >= this.maxPerCluster) {
      throw new IronError('ERR_SERVER_BUSY', `too many parked reserves on this cluster (at most ${this.maxPerCluster}); retry later`);
    }
    if (set === undefined) {
      set = new Set();
      this.byCluster.set(clusterId, set);
    }
    const waiters = set;
    let done!: (reason: WakeReason) => void;
    const promise = new Promise<WakeReason>((resolve) => {
      done = resolve;
    });
    const timer = setTimeout(() => waiter.finish('timeout'), Math.max(0, timeoutMs));
    const onAbort = (): void => waiter.finish('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    const waiter: Waiter = {
      finish: (reason) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        waiters.delete(waiter);
        if (waiters.size === 0 && this.byCluster.get(clusterId) === waiters) this.byCluster.delete(clusterId);
        done(reason);
      },
    };
    waiters.add(waiter);
    if (signal.aborted) waiter.finish('aborted');
    return { promise, cancel: () => waiter.finish('aborted') };
  }

  /**
   * Registers a callback that a release of this runner instance triggers; returns its remover.
   * A released reserve answers at once (empty), so the draining runner receives everything it holds.
   */
  onRelease(clusterId: string, instanceId: string, release: () => void): () => void {
    const key = `${clusterId}/${instanceId}`;
    let set = this.byInstance.get(key);
    if (set === undefined) {
      set = new Set();
      this.byInstance.set(key, set);
    }
    const waiters = set;
    waiters.add(release);
    return () => {
      waiters.delete(release);
      if (waiters.size === 0 && this.byInstance.get(key) === waiters) this.byInstance.delete(key);
    };
  }

  /** Ends this instance's parked reserves now; returns how many there were. */
  release(clusterId: string, instanceId: string): number {
    const set = this.byInstance.get(`${clusterId}/${instanceId}`);
    if (set === undefined) return 0;
    const all = [...set];
    for (const r of all) r();
    return all.length;
  }

  /**
   * Tasks announced reservable per cluster (wake counts) and not known taken yet: a woken reserve
   * that filled its request passes a wake-up on only while some may be left, instead of waking a
   * reserve whose look would find nothing. An upper bound: a look that finds fewer than it asked for
   * resets it (unless something was announced during the look), taken tasks lower it.
   */
  private readonly credit = new Map<string, number>();
  /** Announcements per cluster (only ever grows), so a look can tell whether one came in while it ran. */
  private readonly announced = new Map<string, number>();

  /**
   * `count` tasks of the cluster became reservable: wakes up to that many parked reserves, oldest
   * first. Returns how many it woke (what is left over is for the other replicas' reserves).
   */
  wake(clusterId: string, count = 1): number {
    if (count <= 0) return 0;
    if (Number.isFinite(count)) {
      this.credit.set(clusterId, (this.credit.get(clusterId) ?? 0) + count);
      this.announced.set(clusterId, (this.announced.get(clusterId) ?? 0) + 1);
    }
    return this.nudge(clusterId, count);
  }

  /** What a look must pass to looked(): the cluster's announcement count before it ran. */
  lookStarts(clusterId: string): number {
    return this.announced.get(clusterId) ?? 0;
  }

  /** A look of `n` took `got` tasks. */
  looked(clusterId: string, started: number, n: number, got: number): void {
    const left = Math.max(0, (this.credit.get(clusterId) ?? 0) - got);
    // Fewer than asked: nothing else was reservable then, unless announced while the look ran.
    const drained = got < n && this.lookStarts(clusterId) === started;
    if (drained || left === 0) this.credit.delete(clusterId);
    else this.credit.set(clusterId, left);
  }

  /** A woken reserve filled its request: wake the next one if more tasks may be waiting. */
  passOn(clusterId: string): void {
    if ((this.credit.get(clusterId) ?? 0) > 0) this.nudge(clusterId, 1);
  }

  /** Wakes parked reserves without announcing a task (a leaving reserve's wake-up, the sweep); returns how many. */
  nudge(clusterId: string, count = 1): number {
    const set = this.byCluster.get(clusterId);
    if (set === undefined || count <= 0) return 0;
    let woken = 0;
    for (const w of [...set]) {
      if (woken >= count) break;
      w.finish('woken');
      woken++;
    }
    return woken;
  }

  /** Wakes reserves for what became ready; returns what is left over (counts no parked reserve here took on). */
  wakeReady(ready: readonly ReadyCount[]): ReadyCount[] {
    const rest: ReadyCount[] = [];
    for (const r of ready) {
      const left = r.count - this.wake(r.clusterId, r.count);
      if (left > 0) rest.push({ clusterId: r.clusterId, count: left });
    }
    return rest;
  }

  /** Clusters with at least one parked reserve. */
  clusters(): string[] {
    return [...this.byCluster.keys()];
  }

  get waiting(): number {
    let n = 0;
    for (const s of this.byCluster.values()) n += s.size;
    return n;
  }
}
