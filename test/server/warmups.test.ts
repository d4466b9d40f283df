// The pre-pull signal of the runner protocol: a code registration lists its image in the reserve
// answer of the clusters that will run it, ends parked reserves early, and is seen once per cursor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, registerCode, startTestServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
});

interface Answer {
  tasks: unknown[];
  warm?: Array<Record<string, unknown>>;
  warm_cursor?: string;
}
const reserve = async (body: Record<string, unknown>): Promise<Answer> => {
  const r = await call<Answer>(s.url, 'POST', `/2/clusters/${s.cid}/runner/reserve`, { token: s.ctoken, json: { instance_id: 'warm-test', n: 1, ...body } });
  expect(r.status).toBe(200);
  return r.body;
};

describe('image warm-up signal', () => {
  it('lists a registered image once per cursor, with the project and its registry credentials', async () => {
    const first = await reserve({ wait: 0, warm_cursor: '' });
    expect(first.warm).toEqual([]);
    const cursor = first.warm_cursor ?? '';
    const login = await call(s.url, 'POST', `/2/projects/${s.pid}/credentials`, {
      token: s.token,
      json: { auth: Buffer.from(JSON.stringify({ username: 'u', password: 'p', serveraddress: 'reg.example:5000' })).toString('base64') },
    });
    expect(login.status).toBe(200);
    // A parked reserve (20 s) ends as soon as the code is registered.
    const t0 = Date.now();
    const parked = reserve({ wait: 20, warm_cursor: cursor });
    await new Promise((r) => setTimeout(r, 300));
    await registerCode(s, 'warm-me', { image: 'reg.example:5000/team/app:7' });
    const woke = await parked;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(woke.tasks).toEqual([]);
    expect(woke.warm).toHaveLength(1);
    expect(woke.warm?.[0]).toMatchObject({ image: 'reg.example:5000/team/app:7', project_id: s.pid });
    expect(woke.warm?.[0]?.['docker_auth']).toBeDefined();
    // Seen: the next call with the new cursor gets nothing and waits its full time again.
    const again = await reserve({ wait: 0.3, warm_cursor: woke.warm_cursor });
    expect(again.warm).toEqual([]);
    // A runner that starts later (cursor '') still gets the recent listing.
    expect((await reserve({ wait: 0, warm_cursor: '' })).warm?.map((w) => w['image'])).toEqual(['reg.example:5000/team/app:7']);
    // A runner that does not send a cursor never sees the field (older runners).
    expect((await reserve({ wait: 0 })).warm).toBeUndefined();
  });

  it('also rides on the heartbeat answer, for a runner whose slots are all busy', async () => {
    const id = await registerCode(s, 'hb-task');
    const q = await call(s.url, 'POST', `/2/projects/${s.pid}/tasks`, { token: s.token, json: { tasks: [{ code_name: 'hb-task', payload: '' }] } });
    expect(q.status).toBe(200);
    const got = await reserve({ wait: 0 });
    const t = got.tasks[0] as { id: string; reservation_id: string };
    const seen = await reserve({ wait: 0, warm_cursor: '' });
    await registerCode(s, 'hb-warm', { image: 'reg.example:5000/team/busy:1' });
    const hb = await call<Answer>(s.url, 'POST', `/2/clusters/${s.cid}/runner/heartbeat`, {
      token: s.ctoken,
      json: { instance_id: 'warm-test', tasks: [{ id: t.id, reservation_id: t.reservation_id }], warm_cursor: seen.warm_cursor },
    });
    expect(hb.status).toBe(200);
    expect(hb.body.warm?.map((w) => w['image'])).toEqual(['reg.example:5000/team/busy:1']);
    expect(id).not.toBe('');
  });
});
