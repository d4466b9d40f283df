// Long-poll wake-ups: a reserve that found nothing parks here and is resumed the moment a task of
// its cluster may have become available (queued, requeued, a concurrency slot freed, a delay ended).
// No sleep loop: waiters are plain promises resolved by the code that changed the state.

type Waiter = () => void;

export class Wakeups {
  private readonly byCluster = new Map<string, Set<Waiter>>();
  /** Parked reserves by `cluster/instance`, for a draining runner's release call. */
  private readonly byInstance = new Map<string, Set<Waiter>>();

  /**
   * Registers a waiter BEFORE the caller looks at the store, so a task queued between the look and
   * the wait is not missed. `promise` resolves on wake, timeout or abort; call `cancel` when done.
   */
  park(clusterId: string, timeoutMs: number, signal: AbortSignal): { promise: Promise<void>; cancel: () => void } {
    let done!: () => void;
    const promise = new Promise<void>((resolve) => {
      done = resolve;
    });
    let set = this.byCluster.get(clusterId);
    if (set === undefined) {
      set = new Set();
      this.byCluster.set(clusterId, set);
    }
    const waiters = set;
    const timer = setTimeout(() => finish(), Math.max(0, timeoutMs));
    const onAbort = (): void => finish();
    signal.addEventListener('abort', onAbort, { once: true });
    const finish = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      waiters.delete(finish);
      if (waiters.size === 0 && this.byCluster.get(clusterId) === waiters) this.byCluster.delete(clusterId);
      done();
    };
    waiters.add(finish);
    if (signal.aborted) finish();
    return { promise, cancel: finish };
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

  wake(clusterId: string): void {
    const set = this.byCluster.get(clusterId);
    if (set === undefined) return;
    for (const w of [...set]) w();
  }

  wakeAll(): void {
    for (const id of [...this.byCluster.keys()]) this.wake(id);
  }

  get waiting(): number {
    let n = 0;
    for (const s of this.byCluster.values()) n += s.size;
    return n;
  }
}
