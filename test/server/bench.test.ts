import { describe, expect, it } from 'vitest';
import { reserveBacklog } from '../../bench/reserve.js';
import { benchServer } from '../../bench/server.js';

describe('bench/server', () => {
  it('measures throughput and wake-up latency on a small run', async () => {
    const r = await benchServer({ tasks: 40, latencySamples: 3 });
    expect(r.tasks).toBe(40);
    expect(r.throughput1).toBeGreaterThan(0);
    expect(r.throughput8).toBeGreaterThan(0);
    expect(r.wakeupMs.samples).toBe(3);
    // Generous: a parked reserve must not wait for any polling interval.
    expect(r.wakeupFromQueueStartMs.max).toBeLessThan(1000);
  });

  it('measures reserve latency beside a paused backlog on a small run', async () => {
    const r = await reserveBacklog(2000, 10);
    expect(r.empty.n).toBe(10);
    expect(r.blocked.n).toBe(10);
    expect(r.ratio).toBeGreaterThan(0);
    expect(Number.isFinite(r.ratio)).toBe(true);
  });
});
