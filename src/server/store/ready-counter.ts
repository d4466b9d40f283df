// Counts tasks that became reservable per cluster inside one transaction (what to wake afterwards).
import type { ReadyCount } from './records.js';

export class ReadyCounter {
  private readonly counts = new Map<string, number>();

  add(clusterId: string, n = 1): void {
    this.counts.set(clusterId, (this.counts.get(clusterId) ?? 0) + n);
  }

  list(): ReadyCount[] {
    return [...this.counts].map(([clusterId, count]) => ({ clusterId, count }));
  }
}
