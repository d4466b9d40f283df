import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, queue, registerCode, reserve, runnerPath, startTestServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => s.close());

describe('reservation under concurrency', () => {
  it('hands each of 1,000 tasks to exactly one of 8 concurrent reservers', async () => {
    await registerCode(s, 'many');
    const seen = new Map<string, string>();
    const duplicates: string[] = [];
    const total = 1000;
    let finished = 0;
    // Reservers start parked (long-poll) before anything is queued, then race for the tasks.
    const reserver = async (name: string): Promise<void> => {
      while (finished < total) {
        const got = await reserve(s, 4, 0.5, name);
        for (const t of got) {
          if (seen.has(t.id)) duplicates.push(t.id);
          seen.set(t.id, name);
          const r = await call(s.url, 'POST', runnerPath(s, t.id, 'finish'), { token: s.ctoken, json: { reservation_id: t.reservation_id, status: 'complete' } });
          expect(r.status).toBe(200);
          finished++;
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, i) => reserver(`runner-${i}`));
    const queued: string[] = [];
    for (let i = 0; i < total; i += 100) {
      queued.push(
        ...(await queue(
          s,
          Array.from({ length: 100 }, (_, j) => ({ code_name: 'many', payload: String(i + j) })),
        )),
      );
    }
    await Promise.all(workers);
    expect(duplicates).toEqual([]);
    expect(seen.size).toBe(total);
    expect([...seen.keys()].sort()).toEqual([...queued].sort());
    // Work was actually spread over several reservers.
    expect(new Set(seen.values()).size).toBeGreaterThan(1);
    const left = await call<{ tasks: unknown[] }>(s.url, 'GET', `/2/projects/${s.pid}/tasks?queued=1&preparing=1&running=1`, { token: s.token });
    expect(left.body.tasks).toEqual([]);
  });
});
