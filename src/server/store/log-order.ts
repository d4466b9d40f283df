// Lets a runner keep a few log chunks of one task in flight at once. The chunks travel on separate
// connections (and through proxies), so chunk N+1 can be fully received before chunk N: refusing it
// with 409 would make the runner resync after every overtaken chunk. Instead a chunk that starts past
// the stored size waits here while an earlier request for the same task is still being received or
// written, and is applied as soon as an append of that task completes. The earlier request may not
// even have been seen yet (its headers are behind on another connection), so a chunk also waits a
// short grace with no other request in progress. It is answered 409 (the runner resyncs) after the
// grace with no other request in progress, after `maxWaitMs` in all, or when the task or the whole
// server already holds its share of waiting chunks: memory and time stay bounded.

export interface OrderLimits {
  /** Longest a chunk waits for the gap before it is refused. */
  readonly maxWaitMs: number;
  /** How long it waits while no other request of the task is in progress. */
  readonly graceMs: number;
  /** Waiting chunks per task (a runner keeps a handful in flight). */
  readonly maxWaitingPerTask: number;
  /** Bytes of waiting chunks over all tasks. */
  readonly maxWaitingBytes: number;
}

export const DEFAULT_ORDER_LIMITS: OrderLimits = { maxWaitMs: 10_000, graceMs: 250, maxWaitingPerTask: 8, maxWaitingBytes: 128 * 1024 * 1024 };

export interface WaitBudget {
  readonly grace: number;
  readonly deadline: number;
}

interface TaskState {
  /** Log requests of this task between enter() and their release (body being read, or being appended). */
  active: number;
  waiting: number;
  /** Woken whenever an append of the task completes or a request leaves. */
  wakers: Set<() => void>;
}

export class AppendOrder {
  private readonly tasks = new Map<string, TaskState>();
  private waitingBytes = 0;

  constructor(private readonly limits: OrderLimits = DEFAULT_ORDER_LIMITS) {}

  /** Marks a log request of `taskId` as in progress (call before reading its body); returns its release. */
  enter(taskId: string): () => void {
    const t = this.state(taskId);
    t.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      t.active--;
      this.wake(taskId, t);
    };
  }

  /** An append of the task completed: the stored size may now reach a waiting chunk's offset. */
  progressed(taskId: string): void {
    const t = this.tasks.get(taskId);
    if (t !== undefined) this.wake(taskId, t);
  }

  /**
   * Called by a chunk that starts past the stored size, again after each wake-up. Resolves true when it
   * is worth trying the append again (the task progressed, a request left, or a timer ran out), false
   * when the chunk must be refused now: its wait budget is spent (`grace` alone, `deadline` in all) or
   * the limits are reached.
   */
  async waitForGap(taskId: string, bytes: number, budget: WaitBudget): Promise<boolean> {
    const t = this.tasks.get(taskId);
    const now = Date.now();
    // `active` counts the caller itself: is another request of the task under way?
    const alone = t === undefined || t.active < 2;
    const until = alone ? Math.min(budget.grace, budget.deadline) : budget.deadline;
    if (t === undefined || until <= now) return false;
    if (t.waiting >= this.limits.maxWaitingPerTask || this.waitingBytes + bytes > this.limits.maxWaitingBytes) return false;
    t.waiting++;
    this.waitingBytes += bytes;
    try {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, until - now);
        function done(): void {
          clearTimeout(timer);
          t?.wakers.delete(done);
          resolve();
        }
        t.wakers.add(done);
      });
      return true;
    } finally {
      t.waiting--;
      this.waitingBytes -= bytes;
      this.forget(taskId, t);
    }
  }

  /** A chunk's wait budget, fixed when it first finds a gap. */
  budget(): WaitBudget {
    const now = Date.now();
    return { grace: now + this.limits.graceMs, deadline: now + this.limits.maxWaitMs };
  }

  private state(taskId: string): TaskState {
    let t = this.tasks.get(taskId);
    if (t === undefined) {
      t = { active: 0, waiting: 0, wakers: new Set() };
      this.tasks.set(taskId, t);
    }
    return t;
  }

  private wake(taskId: string, t: TaskState): void {
    for (const w of [...t.wakers]) w();
    this.forget(taskId, t);
  }

  private forget(taskId: string, t: TaskState): void {
    if (t.active === 0 && t.waiting === 0 && t.wakers.size === 0 && this.tasks.get(taskId) === t) this.tasks.delete(taskId);
  }
}
