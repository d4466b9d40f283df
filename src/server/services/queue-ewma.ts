// An exponentially weighted moving average of each cluster's queue depth (Iron's cluster stats
// `ewma`): what an autoscaler reads to see a trend rather than one sample. Sampled by FleetSampler
// every SAMPLE_MS from one queue-depth query for all clusters; kept in memory (a restart starts at 0,
// and each replica keeps its own).
import type { QueueDepthRow } from '../store/records.js';

/** Time constant: a step in the depth shows about 63 % after this long. */
const TAU_MS = 60_000;

export class QueueEwma {
  private readonly avg = new Map<string, number>();
  private lastAt: number | undefined;

  /** One sample: the ready tasks per cluster now (clusters without a row have none). */
  sample(rows: readonly QueueDepthRow[], now: number): void {
    const depth = new Map<string, number>();
    for (const r of rows) depth.set(r.clusterId, (depth.get(r.clusterId) ?? 0) + r.count);
    // The weight of the new sample follows the time since the last one, so an irregular tick is no bias.
    const alpha = this.lastAt === undefined ? 1 : 1 - Math.exp(-Math.max(0, now - this.lastAt) / TAU_MS);
    this.lastAt = now;
    for (const id of new Set([...depth.keys(), ...this.avg.keys()])) {
      const prev = this.avg.get(id) ?? 0;
      const next = prev + alpha * ((depth.get(id) ?? 0) - prev);
      if (next < 0.005 && !depth.has(id)) this.avg.delete(id);
      else this.avg.set(id, next);
    }
  }

  value(clusterId: string): number {
    return Math.round((this.avg.get(clusterId) ?? 0) * 100) / 100;
  }
}
