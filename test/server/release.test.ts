// A draining runner's release call ends its own parked reserve at once (and no one else's).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
});

function reserve(instance: string, wait: number): Promise<{ status: number; body: { tasks?: unknown[] }; ms: number }> {
  const t0 = Date.now();
  return call<{ tasks?: unknown[] }>(s.url, 'POST', `/2/clusters/${s.cid}/runner/reserve`, {
    token: s.ctoken,
    json: { instance_id: instance, n: 1, wait },
  }).then((r) => ({ status: r.status, body: r.body, ms: Date.now() - t0 }));
}

describe('runner release', () => {
  it('answers a parked reserve of that instance at once, leaving other instances parked', async () => {
    const mine = reserve('r-mine', 20);
    const other = reserve('r-other', 2);
    await new Promise((r) => setTimeout(r, 300));
    const rel = await call<{ released: number }>(s.url, 'POST', `/2/clusters/${s.cid}/runner/release`, { token: s.ctoken, json: { instance_id: 'r-mine' } });
    expect(rel.status).toBe(200);
    expect(rel.body.released).toBe(1);
    const m = await mine;
    expect(m.status).toBe(200);
    expect(m.body.tasks).toEqual([]);
    expect(m.ms).toBeLessThan(5_000); // not the 20 s wait
    const o = await other;
    expect(o.ms).toBeGreaterThanOrEqual(1_900); // untouched: ran to its own wait
  });

  it('is refused to tokens of other scopes and to missing tokens', async () => {
    expect((await call(s.url, 'POST', `/2/clusters/${s.cid}/runner/release`, { json: { instance_id: 'x' } })).status).toBe(401);
    expect((await call(s.url, 'POST', `/2/clusters/${s.cid}/runner/release`, { token: s.token, json: { instance_id: 'x' } })).status).toBe(403);
  });
});
