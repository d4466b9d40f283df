// Iron's documented surface, field by field (docs/compatibility.md): 404 for unknown and malformed ids
// on every route, every schedule field round-trips or is refused with 400, max_concurrency on a
// schedule, and start_time only for tasks that ran.
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/server/store/open.js';
import { testStoreKind } from '../helpers/test-store.js';
import { waitFor } from '../helpers/wait.js';
import { call, queue, registerCode, reserve, runnerPath, startTestServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
  await registerCode(s, 'hello');
});
afterAll(async () => s.close());

describe('404 for unknown and malformed ids, on every route with an id', () => {
  const UNKNOWN = '0123456789abcdef01234567';
  const MALFORMED = ['not-an-id', '0123', 'ZZZZZZZZZZZZZZZZZZZZZZZZ'];
  const routes = (id: string, pid: string): Array<[string, string, unknown?]> => [
    ['GET', `/2/projects/${pid}/tasks/${id}`],
    ['GET', `/2/projects/${pid}/tasks/${id}/log`],
    ['GET', `/2/projects/${pid}/tasks/${id}/outlog`],
    ['POST', `/2/projects/${pid}/tasks/${id}/cancel`, {}],
    ['POST', `/2/projects/${pid}/tasks/${id}/retry`, {}],
    ['POST', `/2/projects/${pid}/tasks/${id}/progress`, { percent: 1 }],
    ['GET', `/2/projects/${pid}/codes/${id}`],
    ['DELETE', `/2/projects/${pid}/codes/${id}`, {}],
    ['GET', `/2/projects/${pid}/codes/${id}/revisions`],
    ['GET', `/2/projects/${pid}/codes/${id}/download`],
    ['GET', `/2/projects/${pid}/codes/${id}/stats`],
    ['POST', `/2/projects/${pid}/codes/${id}/pause_task_queue`, {}],
    ['POST', `/2/projects/${pid}/codes/${id}/resume_task_queue`, {}],
    ['POST', `/2/projects/${pid}/codes/${id}/cancel_all`, {}],
    ['GET', `/2/projects/${pid}/schedules/${id}`],
    ['POST', `/2/projects/${pid}/schedules/${id}/cancel`, {}],
    ['PUT', `/2/projects/${pid}/schedules/${id}`, { label: 'x' }],
    ['GET', `/2/clusters/${id}`],
    ['PUT', `/2/clusters/${id}`, { name: 'x' }],
    ['DELETE', `/2/clusters/${id}`, {}],
    ['GET', `/2/clusters/${id}/credentials`],
    ['GET', `/2/clusters/${id}/stats`],
  ];

  it('the project API and the cluster API answer 404 with a msg for unknown and for malformed ids', async () => {
    for (const id of [UNKNOWN, ...MALFORMED]) {
      for (const [method, path, json] of routes(id, s.pid)) {
        const r = await call(s.url, method, path, { token: s.token, ...(json === undefined ? {} : { json }) });
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(typeof r.body['msg'], `${method} ${path}`).toBe('string');
      }
    }
  });

  it('a malformed project id is 404 too; another project that exists stays 403', async () => {
    for (const pid of MALFORMED) {
      expect((await call(s.url, 'GET', `/2/projects/${pid}/tasks`, { token: s.token })).status, pid).toBe(404);
      expect((await call(s.url, 'GET', `/2/projects/${pid}`, { token: s.token })).status, pid).toBe(404);
    }
    const other = await s.handle.admin.createProject('other');
    expect((await call(s.url, 'GET', `/2/projects/${other.projectId}/tasks`, { token: s.token })).status).toBe(403);
  });

  it('the runner protocol answers 404 for a malformed task or cluster id', async () => {
    for (const id of MALFORMED) {
      for (const action of ['start', 'finish']) {
        const r = await call(s.url, 'POST', runnerPath(s, id, action), { token: s.ctoken, json: { reservation_id: 'r', status: 'complete' } });
        expect(r.status, `${action} ${id}`).toBe(404);
      }
      expect((await call(s.url, 'POST', `${runnerPath(s, id, 'log')}?offset=0`, { token: s.ctoken, body: 'x', type: 'application/octet-stream' })).status).toBe(404);
    }
  });

  it('without a valid token every route is 401 first: no id, well formed or not, is confirmed to strangers', async () => {
    for (const id of [UNKNOWN, 'not-an-id']) {
      for (const [method, path, json] of routes(id, s.pid)) {
        const r = await call(s.url, method, path, { token: 'wrong', ...(json === undefined ? {} : { json }) });
        expect(r.status, `${method} ${path}`).toBe(401);
      }
    }
    expect((await call(s.url, 'GET', '/2/projects/not-an-id/tasks', { token: 'wrong' })).status).toBe(401);
  });
});

describe('schedules: every field Iron lists round-trips', () => {
  const post = (schedules: unknown[]) => call<{ schedules: { id: string }[] }>(s.url, 'POST', `/2/projects/${s.pid}/schedules`, { token: s.token, json: { schedules } });

  it('create with every field, then GET and list show each as given', async () => {
    const startAt = new Date(Date.now() + 3_600_000).toISOString();
    const endAt = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const r = await post([
      {
        code_name: 'hello',
        payload: '{"a":1}',
        name: 'nightly',
        start_at: startAt,
        end_at: endAt,
        run_every: 3600,
        run_times: 5,
        priority: 2,
        timeout: 120,
        delay: 30,
        cluster: s.cid,
        label: 'reports',
        max_concurrency: 1,
      },
    ]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ msg: 'Scheduled' });
    const id = r.body.schedules[0]?.id ?? '';
    const expected = {
      id,
      project_id: s.pid,
      code_name: 'hello',
      payload: '{"a":1}',
      name: 'nightly',
      start_at: startAt,
      end_at: endAt,
      run_every: 3600,
      run_times: 5,
      priority: 2,
      timeout: 120,
      delay: 30,
      task_delay: 30,
      cluster: s.cid,
      label: 'reports',
      max_concurrency: 1,
      status: 'scheduled',
      run_count: 0,
      error_count: 0,
      next_start: startAt,
      last_run_time: '0001-01-01T00:00:00Z',
    };
    const got = await call(s.url, 'GET', `/2/projects/${s.pid}/schedules/${id}`, { token: s.token });
    expect(got.body).toMatchObject(expected);
    for (const k of ['created_at', 'updated_at']) expect(Date.parse(String(got.body[k]))).not.toBeNaN();
    const list = await call<{ schedules: Record<string, unknown>[] }>(s.url, 'GET', `/2/projects/${s.pid}/schedules`, { token: s.token });
    expect(list.body.schedules.find((x) => x['id'] === id)).toMatchObject(expected);
    // Ruby's schedules_update: a partial PUT changes only what it names, checked like a create.
    const put = await call(s.url, 'PUT', `/2/projects/${s.pid}/schedules/${id}`, { token: s.token, json: { run_every: 7200, max_concurrency: 3, label: 'weekly' } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ ...expected, msg: 'Updated', run_every: 7200, max_concurrency: 3, label: 'weekly' });
    expect((await call(s.url, 'GET', `/2/projects/${s.pid}/schedules/${id}`, { token: s.token })).body).toMatchObject({ ...expected, run_every: 7200, max_concurrency: 3, label: 'weekly' });
    expect((await call(s.url, 'PUT', `/2/projects/${s.pid}/schedules/${id}`, { token: s.token, json: { run_every: 30 } })).status).toBe(400);
    expect((await call(s.url, 'PUT', `/2/projects/${s.pid}/schedules/${id}`, { token: s.token, json: { code_name: 'nope' } })).status).toBe(404);
    expect((await call(s.url, 'POST', `/2/projects/${s.pid}/schedules/${id}/cancel`, { token: s.token, json: {} })).status).toBe(200);
    expect((await call(s.url, 'PUT', `/2/projects/${s.pid}/schedules/${id}`, { token: s.token, json: { label: 'x' } })).status).toBe(409);
  });

  it("ironcli's body round-trips: float delay and timeout, Go zero times, run_times 0 = unlimited, max_concurrency", async () => {
    const r = await post([
      {
        cluster: '',
        code_name: 'hello',
        delay: 1.5,
        label: '',
        name: '',
        payload: '{}',
        run_times: 0,
        timeout: 0,
        max_concurrency: 2,
        run_every: 60,
        start_at: '0001-01-01T00:00:00Z',
      },
    ]);
    expect(r.status).toBe(200);
    const got = await call(s.url, 'GET', `/2/projects/${s.pid}/schedules/${r.body.schedules[0]?.id ?? ''}`, { token: s.token });
    expect(got.body).toMatchObject({ delay: 2, timeout: 3600, run_times: 0, max_concurrency: 2, run_every: 60, end_at: '0001-01-01T00:00:00Z' });
    expect(got.body['priority']).toBeUndefined();
  });

  it('refuses with 400 what cannot mean anything, and creates none of the batch', async () => {
    const before = (await call<{ schedules: unknown[] }>(s.url, 'GET', `/2/projects/${s.pid}/schedules?per_page=100`, { token: s.token })).body.schedules.length;
    const ok = { code_name: 'hello', payload: '{}' };
    const hourly = { ...ok, run_every: 3600 };
    const bad: Array<Record<string, unknown>> = [
      { ...ok, run_every: 59 },
      { ...ok, run_times: 3 }, // more than one run, but no run_every: it can only run once
      { ...hourly, max_concurrency: -1 },
      { ...hourly, max_concurrency: 1.5 },
      { ...hourly, max_concurrency: 'one' },
      { ...hourly, start_at: new Date(Date.now() + 7_200_000).toISOString(), end_at: new Date(Date.now() + 3_600_000).toISOString() },
      { ...hourly, start_at: 'tomorrow' },
      { ...hourly, timeout: 3601 },
      { ...hourly, delay: 604_801 },
      { ...hourly, payload: '' },
    ];
    for (const b of bad) {
      const r = await post([b, ok]);
      expect(r.status, JSON.stringify(b)).toBe(400);
      expect(typeof (r.body as unknown as Record<string, unknown>)['msg']).toBe('string');
    }
    const after = (await call<{ schedules: unknown[] }>(s.url, 'GET', `/2/projects/${s.pid}/schedules?per_page=100`, { token: s.token })).body.schedules.length;
    expect(after).toBe(before);
  });

  it('max_concurrency: a run that comes due while that many of its tasks are unfinished is skipped, not queued', async () => {
    const r = await post([{ code_name: 'hello', payload: '{}', run_every: 60, max_concurrency: 1 }]);
    const id = r.body.schedules[0]?.id ?? '';
    // A second store on the same data (SQLite file or PostgreSQL database) drives the scheduler at chosen times.
    const store = await openStore(s.config, AbortSignal.timeout(10_000));
    try {
      const now = Date.now();
      await store.schedules.runDueSchedules(now + 1_000, AbortSignal.timeout(10_000));
      const tasksOf = async () =>
        (await call<{ tasks: { schedule_id?: string; id: string }[] }>(s.url, 'GET', `/2/projects/${s.pid}/tasks?per_page=100`, { token: s.token })).body.tasks.filter((t) => t.schedule_id === id);
      // On PostgreSQL the API's own scheduler may hold the row at that moment (SKIP LOCKED): then its
      // run, not this one, queues the task, and commits a moment later.
      await waitFor('the first run queued its task', async () => (await tasksOf()).length === 1, { timeoutMs: 10_000 });
      await store.schedules.runDueSchedules(now + 62_000, AbortSignal.timeout(10_000));
      expect((await tasksOf()).length).toBe(1);
      const skipped = await call(s.url, 'GET', `/2/projects/${s.pid}/schedules/${id}`, { token: s.token });
      expect(skipped.body).toMatchObject({ run_count: 1, status: 'scheduled' });
      expect(String(skipped.body['msg'])).toMatch(/skipped: 1 task\(s\) of this schedule unfinished \(max_concurrency 1\)/);
      // Once that task ends, the next run queues again.
      const [first] = await tasksOf();
      expect((await call(s.url, 'POST', `/2/projects/${s.pid}/tasks/${first?.id ?? ''}/cancel`, { token: s.token, json: {} })).status).toBe(200);
      await store.schedules.runDueSchedules(now + 123_000, AbortSignal.timeout(10_000));
      expect((await tasksOf()).length).toBe(2);
      const ran = await call(s.url, 'GET', `/2/projects/${s.pid}/schedules/${id}`, { token: s.token });
      expect(ran.body).toMatchObject({ run_count: 2 });
      expect(ran.body['msg']).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it("error_count counts the schedule's tasks that ended error or timeout", async () => {
    const r = await post([{ code_name: 'hello', payload: '{}', run_every: 60 }]);
    const id = r.body.schedules[0]?.id ?? '';
    // The server's own scheduler queues the first run (start_at is now).
    await waitFor(
      'the schedule to queue its first task',
      async () => {
        const l = await call<{ tasks: { schedule_id?: string }[] }>(s.url, 'GET', `/2/projects/${s.pid}/tasks?per_page=100`, { token: s.token });
        return l.body.tasks.some((x) => x.schedule_id === id);
      },
      { everyMs: 50 },
    );
    const reserved = await reserve(s, 100);
    expect(reserved.length).toBeGreaterThan(0);
    for (const t of reserved) {
      const info = await call(s.url, 'GET', `/2/projects/${s.pid}/tasks/${t.id}`, { token: s.token });
      const status = info.body['schedule_id'] === id ? 'error' : 'complete';
      const f = await call(s.url, 'POST', runnerPath(s, t.id, 'finish'), { token: s.ctoken, json: { reservation_id: t.reservation_id, status } });
      expect(f.status, f.text).toBe(200);
    }
    expect((await call(s.url, 'GET', `/2/projects/${s.pid}/schedules/${id}`, { token: s.token })).body['error_count']).toBe(1);
  });
});

describe.runIf(testStoreKind() === 'sqlite')('a data dir from before schedules had max_concurrency', () => {
  it('gets the column added on open, and schedules made before keep working', async () => {
    const t = await startTestServer();
    await registerCode(t, 'hello');
    const old = await call<{ schedules: { id: string }[] }>(t.url, 'POST', `/2/projects/${t.pid}/schedules`, { token: t.token, json: { schedules: [{ code_name: 'hello', payload: '{}' }] } });
    await t.restart({
      whileDown() {
        const db = new DatabaseSync(join(t.dir, 'iron.db'));
        db.exec('ALTER TABLE schedules DROP COLUMN max_concurrency');
        db.close();
      },
    });
    try {
      const url = t.url;
      expect((await call(url, 'GET', `/2/projects/${t.pid}/schedules/${old.body.schedules[0]?.id ?? ''}`, { token: t.token })).body['max_concurrency']).toBe(0);
      const r = await call<{ schedules: { id: string }[] }>(url, 'POST', `/2/projects/${t.pid}/schedules`, {
        token: t.token,
        json: { schedules: [{ code_name: 'hello', payload: '{}', max_concurrency: 3 }] },
      });
      expect((await call(url, 'GET', `/2/projects/${t.pid}/schedules/${r.body.schedules[0]?.id ?? ''}`, { token: t.token })).body['max_concurrency']).toBe(3);
    } finally {
      await t.close();
    }
  });
});

describe('start_time: only for tasks that ran', () => {
  // Its own server: the schedules above keep queueing tasks on theirs, which a reserve could pick.
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
    await registerCode(s, 'hello');
  });
  afterAll(async () => s.close());
  const get = (id: string) => call(s.url, 'GET', `/2/projects/${s.pid}/tasks/${id}`, { token: s.token });

  it('a task finished before its start (refused payload, failed pull) has no start_time and no duration', async () => {
    const [id] = await queue(s, [{ code_name: 'hello', cluster: s.cid }]);
    const [t] = (await reserve(s, 1)).filter((x) => x.id === id);
    expect(t).toBeDefined();
    const f = await call(s.url, 'POST', runnerPath(s, id ?? '', 'finish'), {
      token: s.ctoken,
      json: { reservation_id: t?.reservation_id, status: 'error', msg: 'payload is not encrypted', exit_code: null, duration_ms: 0 },
    });
    expect(f.status).toBe(200);
    const info = await get(id ?? '');
    expect(info.body).toMatchObject({ status: 'error', msg: 'payload is not encrypted' });
    expect(info.body['end_time']).toBeDefined();
    expect(info.body['start_time']).toBeUndefined();
    expect(info.body['duration']).toBeUndefined();
  });

  it('a task cancelled while queued has no start_time', async () => {
    const [id] = await queue(s, [{ code_name: 'hello', cluster: s.cid, delay: 600 }]);
    expect((await call(s.url, 'POST', `/2/projects/${s.pid}/tasks/${id ?? ''}/cancel`, { token: s.token, json: {} })).status).toBe(200);
    const info = await get(id ?? '');
    expect(info.body['status']).toBe('cancelled');
    expect(info.body['start_time']).toBeUndefined();
  });

  it('a task that started keeps its start_time and duration', async () => {
    const [id] = await queue(s, [{ code_name: 'hello', cluster: s.cid }]);
    const [t] = (await reserve(s, 1)).filter((x) => x.id === id);
    await call(s.url, 'POST', runnerPath(s, id ?? '', 'start'), { token: s.ctoken, json: { reservation_id: t?.reservation_id } });
    await call(s.url, 'POST', runnerPath(s, id ?? '', 'finish'), { token: s.ctoken, json: { reservation_id: t?.reservation_id, status: 'complete', duration_ms: 5 } });
    const info = await get(id ?? '');
    expect(Date.parse(String(info.body['start_time']))).not.toBeNaN();
    expect(info.body['duration']).toBe(5);
  });
});
