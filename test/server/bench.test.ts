import { describe, expect, it } from 'vitest';
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
});
