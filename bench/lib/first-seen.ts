// The first record seen under a key, or a wait for it: the engine event watcher and the socket tap
// both note "task X, role Y happened at T" and let a benchmark await it, bounded in time.
export class FirstSeen<T> {
  private readonly seen = new Map<string, T>();
  private readonly waiters = new Map<string, (v: T) => void>();

  /** Keeps only the first value per key. */
  record(key: string, value: T): void {
    if (this.seen.has(key)) return;
    this.seen.set(key, value);
    this.waiters.get(key)?.(value);
  }

  wait(key: string, timeoutMs: number, what: string): Promise<T> {
    const already = this.seen.get(key);
    if (already !== undefined) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new Error(`${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(key, (v) => {
        clearTimeout(timer);
        this.waiters.delete(key);
        resolve(v);
      });
    });
  }
}

export const taskRoleKey = (taskId: string, role: string): string => `${taskId}\u0000${role}`;
