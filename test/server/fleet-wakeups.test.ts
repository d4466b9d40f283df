// Issue 17: what a fleet's steady traffic costs the API. A plain finish makes nothing reservable, so
// it re-runs no parked reserve's query; a requeue, a code retry and a freed max_concurrency slot still
// wake one. A heartbeat extends the leases its reservations hold and reports the others lost, for
// many tasks in one call (batched statements), including tasks of another cluster and finished ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, queue, registerCode, reserve, runnerPath, startTestServer, type TestServer } from './helpers.js';

let s: TestServer;

beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => s.close());

const finish = (id: string, body: Record<string, unknown>) => call(s.url, 'POST', runnerPath(s, id, 'finish'), { token: s.ctoken, json: body });

async function metric(name: string): Promise<number> {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+(?:\\.\\d+)?)$`, 'm').exec((await call(s.url, 'GET', '/metrics')).text);
  return Number(m?.[1] ?? Number.NaN);
}

async function until(check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function release(instances: readonly string[]): Promise<void> {
  for (const i of instances) await call(s.url, 'POST', `/2/clusters/${s.cid}/runner/release`, { token: s.ctoken, json: { instance_id: i } });
}

describe('fleet wake-ups', () => {
  it('plain finishes re-run no parked reserve; a requeue wakes one that takes the task', async () => {
    await registerCode(s, 'plain');
    await queue(
      s,
      Array.from({ length: 10 }, () => ({ code_name: 'plain' })),
    );
    const held = await reserve(s, 10, 0, 'busy-runner');
    expect(held).toHaveLength(10);
    const names = ['idle-1', 'idle-2', 'idle-3'];
    const parked = names.map((n) => reserve(s, 1, 30, n));
    await until(async () => (await metric('iron_reserves_parked')) === 3, 10_000);
    const looks0 = await metric('iron_reserve_looks_total');
    for (const t of held.slice(0, 9)) expect((await finish(t.id, { reservation_id: t.reservation_id, status: 'complete' })).status).toBe(200);
    // Before: each finish woke a parked reserve to look (9 looks). The 5 s sweep may add one per cluster.
    expect((await metric('iron_reserve_looks_total')) - looks0).toBeLessThanOrEqual(1);
    const last = held[9];
    if (last === undefined) throw new Error('no task');
    expect((await finish(last.id, { reservation_id: last.reservation_id, status: 'requeue' })).status).toBe(200);
    await until(async () => (await metric('iron_reserves_parked')) === 2, 10_000);
    await release(names);
    const answers = (await Promise.all(parked)).flat();
    expect(answers.map((t) => t.id)).toEqual([last.id]);
    const again = answers[0];
    if (again !== undefined) await finish(again.id, { reservation_id: again.reservation_id, status: 'complete' });
  });

  it('a code retry without delay wakes a parked reserve', async () => {
    await registerCode(s, 'retried', { retries: 1 });
    const [id] = await queue(s, [{ code_name: 'retried' }]);
    const [t] = await reserve(s, 1, 0, 'first');
    expect(t?.id).toBe(id);
    const parked = reserve(s, 1, 30, 'second');
    await until(async () => (await metric('iron_reserves_parked')) === 1, 10_000);
    if (t === undefined) throw new Error('no task');
    await finish(t.id, { reservation_id: t.reservation_id, status: 'error', exit_code: 1 });
    const got = await parked;
    expect(got).toHaveLength(1);
    expect(got[0]?.id).not.toBe(id);
    await finish(got[0]!.id, { reservation_id: got[0]!.reservation_id, status: 'complete' });
  });

  it('one heartbeat extends many leases and reports superseded, unknown and finished tasks lost', async () => {
    await registerCode(s, 'beats');
    await queue(
      s,
      Array.from({ length: 150 }, () => ({ code_name: 'beats' })),
    );
    // More than one IN (...) batch of the store (100 ids); a reserve hands out at most 100.
    const held = [...(await reserve(s, 100, 0, 'big-runner')), ...(await reserve(s, 50, 0, 'big-runner'))];
    expect(held).toHaveLength(150);
    const [done, ...rest] = held;
    if (done === undefined) throw new Error('no task');
    await finish(done.id, { reservation_id: done.reservation_id, status: 'complete' });
    const bogus = { id: 'a'.repeat(24), reservation_id: 'x' };
    const wrong = { id: rest[0]!.id, reservation_id: 'not-this-one' };
    const tasks = [done, wrong, bogus, ...rest.slice(1)].map((t) => ({ id: t.id, reservation_id: t.reservation_id }));
    const hb = await call<{ cancel: string[]; lost: string[] }>(s.url, 'POST', `/2/clusters/${s.cid}/runner/heartbeat`, { token: s.ctoken, json: { instance_id: 'big-runner', tasks } });
    expect(hb.status).toBe(200);
    expect(hb.body.lost.sort()).toEqual([done.id, wrong.id, bogus.id].sort());
    expect(hb.body.cancel).toEqual([]);
    const empty = await call<{ cancel: string[]; lost: string[] }>(s.url, 'POST', `/2/clusters/${s.cid}/runner/heartbeat`, { token: s.ctoken, json: { instance_id: 'idle', tasks: [] } });
    expect(empty.body).toMatchObject({ cancel: [], lost: [] });
    for (const t of rest) await finish(t.id, { reservation_id: t.reservation_id, status: 'complete' });
  });
});
