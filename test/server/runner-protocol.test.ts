import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendLog, call, getTask, queue, registerCode, reserve, runnerPath, startTestServer, type TestServer } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

let s: TestServer;

beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => s.close());

const finish = (id: string, body: Record<string, unknown>) => call(s.url, 'POST', runnerPath(s, id, 'finish'), { token: s.ctoken, json: body });
const start = (id: string, rid: string) => call(s.url, 'POST', runnerPath(s, id, 'start'), { token: s.ctoken, json: { reservation_id: rid } });
const heartbeat = (tasks: { id: string; reservation_id: string }[]) =>
  call<{ cancel: string[]; lost: string[]; lease_expires_at: string }>(s.url, 'POST', `/2/clusters/${s.cid}/runner/heartbeat`, {
    token: s.ctoken,
    json: { instance_id: 'runner-1', tasks },
  });

describe('runner protocol', () => {
  it('hands a task with everything needed to run it, and runs the lifecycle', async () => {
    await registerCode(s, 'life', { command: 'echo hi', env_vars: { A: '1' }, config: 'cfg' });
    const [id] = await queue(s, [{ code_name: 'life', payload: 'p1', timeout: 30 }]);
    const [t] = await reserve(s);
    expect(t).toMatchObject({
      id,
      code_name: 'life',
      image: 'iron-test/busybox:1',
      command: 'echo hi',
      env_vars: { A: '1' },
      config: 'cfg',
      payload: 'p1',
      timeout: 30,
      priority: 0,
      memory: 256 * 1024 * 1024,
      attempt: 1,
      project_id: s.pid,
    });
    expect(typeof t?.reservation_id).toBe('string');
    expect(Number.isNaN(Date.parse(String(t?.lease_expires_at)))).toBe(false);
    expect((await getTask(s, id ?? '')).status).toBe('preparing');
    expect((await start(t!.id, t!.reservation_id)).status).toBe(200);
    expect((await start(t!.id, t!.reservation_id)).status).toBe(200); // idempotent
    expect((await getTask(s, id ?? '')).status).toBe('running');
    const done = await finish(t!.id, { reservation_id: t!.reservation_id, status: 'complete', exit_code: 0, msg: '', duration_ms: 12, log_size: 0 });
    expect(done.status).toBe(200);
    const again = await finish(t!.id, { reservation_id: t!.reservation_id, status: 'complete', exit_code: 0, msg: '', duration_ms: 12, log_size: 0 });
    expect(again.status).toBe(200);
    const info = await getTask(s, id ?? '');
    expect(info).toMatchObject({ status: 'complete', duration: 12 });
    expect(info['msg']).toBeUndefined();
  });

  it('long-poll reserve wakes up as soon as a task is queued', async () => {
    await registerCode(s, 'wake');
    const started = Date.now();
    const pending = reserve(s, 1, 20);
    await new Promise((r) => setTimeout(r, 200));
    const [id] = await queue(s, [{ code_name: 'wake' }]);
    const got = await pending;
    expect(got.map((t) => t.id)).toEqual([id]);
    expect(Date.now() - started).toBeLessThan(5000);
    await finish(id!, { reservation_id: got[0]!.reservation_id, status: 'complete' });
  });

  it('a cluster changed while a reserve is parked applies to the task that reserve gets', async () => {
    await registerCode(s, 'cluster-change');
    const MiB = 1024 * 1024;
    const setMemory = async (memory: number): Promise<void> => {
      const r = await call(s.url, 'PUT', `/2/clusters/${s.cid}`, { token: s.token, json: { memory } });
      expect(r.status).toBe(200);
    };
    const parked = async (): Promise<number> => Number(/^iron_reserves_parked (\d+)/m.exec((await call(s.url, 'GET', '/metrics')).text)?.[1] ?? 0);
    const pending = reserve(s, 1, 20);
    await waitFor('the reserve to park', async () => (await parked()) === 1);
    await setMemory(512 * MiB);
    try {
      const [id] = await queue(s, [{ code_name: 'cluster-change' }]);
      const got = await pending;
      expect(got.map((t) => [t.id, t['memory']])).toEqual([[id, 512 * MiB]]);
      await finish(id!, { reservation_id: got[0]!.reservation_id, status: 'complete' });
      // A reserve that finds its task at once has the cluster as it just read it.
      const [now] = await queue(s, [{ code_name: 'cluster-change' }]);
      const [t] = await reserve(s);
      expect([t?.id, t?.['memory']]).toEqual([now, 512 * MiB]);
      await finish(now!, { reservation_id: t!.reservation_id, status: 'complete' });
    } finally {
      await setMemory(256 * MiB);
    }
  });

  it('returns an empty list after wait when nothing is queued', async () => {
    const started = Date.now();
    expect(await reserve(s, 1, 0.3)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('honours priority (2, 1, 0), FIFO within a priority, and delay', async () => {
    await registerCode(s, 'prio', { default_priority: 1 });
    const ids = await queue(s, [
      { code_name: 'prio', priority: 0, payload: 'a' },
      { code_name: 'prio', priority: 2, payload: 'b' },
      { code_name: 'prio', priority: -3, payload: 'c' },
      { code_name: 'prio', priority: 2, payload: 'd' },
      { code_name: 'prio', priority: 2, delay: 1, payload: 'late' },
    ]);
    const got = await reserve(s, 10);
    expect(got.map((t) => t.payload)).toEqual(['b', 'd', 'c', 'a']);
    expect(got.find((t) => t.payload === 'c')?.priority).toBe(1); // -3 = unset -> code default
    const late = await reserve(s, 1, 5);
    expect(late.map((t) => t.id)).toEqual([ids[4]]);
    for (const t of [...got, ...late]) await finish(t.id, { reservation_id: t.reservation_id, status: 'complete' });
  });

  it('respects max_concurrency and paused queues', async () => {
    const codeId = await registerCode(s, 'limited', { max_concurrency: 1 });
    await queue(s, [{ code_name: 'limited' }, { code_name: 'limited' }]);
    const first = await reserve(s, 5);
    expect(first).toHaveLength(1);
    const pending = reserve(s, 1, 10);
    await finish(first[0]!.id, { reservation_id: first[0]!.reservation_id, status: 'complete' });
    const second = await pending; // freed slot wakes the parked reserve
    expect(second).toHaveLength(1);
    await finish(second[0]!.id, { reservation_id: second[0]!.reservation_id, status: 'complete' });

    expect((await call(s.url, 'POST', `/2/projects/${s.pid}/codes/${codeId}/pause_task_queue`, { token: s.token, json: {} })).body).toEqual({ msg: 'Paused' });
    await queue(s, [{ code_name: 'limited' }]);
    expect(await reserve(s, 1)).toEqual([]);
    const resumed = reserve(s, 1, 10);
    await call(s.url, 'POST', `/2/projects/${s.pid}/codes/${codeId}/resume_task_queue`, { token: s.token, json: {} });
    const got = await resumed;
    expect(got).toHaveLength(1);
    await finish(got[0]!.id, { reservation_id: got[0]!.reservation_id, status: 'complete' });
  });

  it('only hands a cluster its own tasks', async () => {
    const made = await call<{ id: string; token: string }>(s.url, 'POST', '/2/clusters', { token: s.token, json: { name: 'other', memory: 64 * 1024 * 1024 } });
    expect(made.status).toBe(200);
    await registerCode(s, 'iso');
    const [onOther] = await queue(s, [{ code_name: 'iso', cluster: 'other' }]);
    expect(await reserve(s, 5)).toEqual([]);
    const got = await reserve(s, 5, 0, 'r-other', made.body.id, made.body.token);
    expect(got.map((t) => t.id)).toEqual([onOther]);
    expect(got[0]?.memory).toBe(64 * 1024 * 1024);
    // The default cluster's token cannot touch the other cluster's task.
    const r = await call(s.url, 'POST', `/2/clusters/${made.body.id}/runner/tasks/${onOther}/finish`, { token: s.ctoken, json: { reservation_id: got[0]!.reservation_id, status: 'complete' } });
    expect(r.status).toBe(403);
    await call(s.url, 'POST', `/2/clusters/${made.body.id}/runner/tasks/${onOther}/finish`, { token: made.body.token, json: { reservation_id: got[0]!.reservation_id, status: 'complete' } });
  });

  it('appends log chunks idempotently by offset and resyncs on a gap', async () => {
    await registerCode(s, 'logs');
    const [id] = await queue(s, [{ code_name: 'logs' }]);
    expect((await call(s.url, 'GET', `/2/projects/${s.pid}/tasks/${id}/log`, { token: s.token })).text).toBe('{"msg":"Log not found"}');
    const [t] = await reserve(s);
    const log = (offset: number, body: string) => appendLog(s, id!, t!.reservation_id, offset, body);
    expect((await log(0, 'hello ')).body).toEqual({ size: 6 });
    expect((await log(0, 'hello ')).body).toEqual({ size: 6 }); // repeated chunk ignored
    const gap = await log(20, 'x');
    expect(gap.status).toBe(409);
    expect(gap.body).toMatchObject({ size: 6 });
    expect((await log(6, 'world\n')).body).toEqual({ size: 12 });
    const live = await call(s.url, 'GET', `/2/projects/${s.pid}/tasks/${id}/log`, { token: s.token });
    expect(live.type).toMatch(/^text\/plain/);
    expect(live.text).toBe('hello world\n');
    await finish(id!, { reservation_id: t!.reservation_id, status: 'error', exit_code: 3, msg: 'exit code 3', log_size: 12 });
    expect(await getTask(s, id!)).toMatchObject({ status: 'error', msg: 'exit code 3', log_size: 12 });
  });

  it('cancels in each state: queued at once, reserved via heartbeat, finished refused', async () => {
    await registerCode(s, 'cancel');
    const [queued, reserved, running] = await queue(s, [{ code_name: 'cancel', delay: 60 }, { code_name: 'cancel' }, { code_name: 'cancel' }]);
    const cancel = (id: string) => call(s.url, 'POST', `/2/projects/${s.pid}/tasks/${id}/cancel`, { token: s.token, body: '' });
    expect((await cancel(queued!)).body).toEqual({ msg: 'Cancelled' });
    expect((await getTask(s, queued!)).status).toBe('cancelled');
    const got = await reserve(s, 2);
    const rt = got.find((t) => t.id === reserved)!;
    const ru = got.find((t) => t.id === running)!;
    await start(ru.id, ru.reservation_id);
    expect((await cancel(reserved!)).status).toBe(200);
    expect((await cancel(running!)).status).toBe(200);
    expect((await start(rt.id, rt.reservation_id)).status).toBe(409); // must not run a cancelled task
    const hb = await heartbeat([
      { id: ru.id, reservation_id: ru.reservation_id },
      { id: rt.id, reservation_id: rt.reservation_id },
    ]);
    expect(hb.body.cancel.sort()).toEqual([ru.id, rt.id].sort());
    expect(hb.body.lost).toEqual([]);
    expect((await finish(ru.id, { reservation_id: ru.reservation_id, status: 'cancelled', exit_code: 143 })).status).toBe(200);
    expect((await getTask(s, ru.id)).status).toBe('cancelled');
    const fin = await queue(s, [{ code_name: 'cancel' }]);
    const [ft] = await reserve(s);
    await finish(ft!.id, { reservation_id: ft!.reservation_id, status: 'complete' });
    expect((await cancel(fin[0]!)).status).toBe(409);
  });

  it('requeue gives the task back without counting a failure', async () => {
    await registerCode(s, 'requeue');
    const [id] = await queue(s, [{ code_name: 'requeue' }]);
    const [a] = await reserve(s);
    expect((await finish(id!, { reservation_id: a!.reservation_id, status: 'requeue' })).status).toBe(200);
    expect((await getTask(s, id!)).status).toBe('queued');
    const [b] = await reserve(s);
    expect(b).toMatchObject({ id, attempt: 2 });
    // The old reservation is superseded for every call.
    expect((await finish(id!, { reservation_id: a!.reservation_id, status: 'complete' })).status).toBe(409);
    expect((await start(id!, a!.reservation_id)).status).toBe(409);
    await finish(id!, { reservation_id: b!.reservation_id, status: 'complete' });
  });

  it('re-queues failed tasks as new linked tasks per the code retries', async () => {
    await registerCode(s, 'retries', { retries: 1, retries_delay: 0 });
    const [id] = await queue(s, [{ code_name: 'retries', payload: 'again' }]);
    const [a] = await reserve(s);
    await finish(id!, { reservation_id: a!.reservation_id, status: 'error', exit_code: 1, msg: 'exit code 1' });
    const first = await getTask(s, id!);
    expect(typeof first['retry_task_id']).toBe('string');
    const [b] = await reserve(s, 1, 2);
    expect(b).toMatchObject({ id: first['retry_task_id'], payload: 'again' });
    await finish(b!.id, { reservation_id: b!.reservation_id, status: 'timeout', msg: 'timed out after 1 s' });
    const second = await getTask(s, b!.id);
    expect(second).toMatchObject({ retry_count: 1, retry_of: id, status: 'timeout' });
    expect(second['retry_task_id']).toBeUndefined(); // retries exhausted
  });

  it('hands stored registry credentials to the runner as docker_auth, never back through the API', async () => {
    const auth = Buffer.from(JSON.stringify({ email: 'e@x', username: 'u', password: 'sekret', serveraddress: 'https://registry.example.com:5000/v2/' })).toString('base64');
    const r = await call(s.url, 'POST', `/2/projects/${s.pid}/credentials`, { token: s.token, json: { auth } });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('sekret');
    await registerCode(s, 'private', { image: 'registry.example.com:5000/team/app:1' });
    await queue(s, [{ code_name: 'private' }]);
    const [t] = await reserve(s);
    expect(t?.['docker_auth']).toMatchObject({ username: 'u', password: 'sekret', serveraddress: 'registry.example.com:5000' });
    await finish(t!.id, { reservation_id: t!.reservation_id, status: 'complete' });
  });

  it('rejects bad runner input with 4xx', async () => {
    const bad = await call(s.url, 'POST', `/2/clusters/${s.cid}/runner/reserve`, { token: s.ctoken, json: { instance_id: 'x', n: 0 } });
    expect(bad.status).toBe(400);
    const noInstance = await call(s.url, 'POST', `/2/clusters/${s.cid}/runner/reserve`, { token: s.ctoken, json: { n: 1 } });
    expect(noInstance.status).toBe(400);
    const badStatus = await finish('0123456789abcdef01234567', { reservation_id: 'x', status: 'done' });
    expect(badStatus.status).toBe(400);
    const unknown = await finish('0123456789abcdef01234567', { reservation_id: 'x', status: 'complete' });
    expect(unknown.status).toBe(404);
  });
  it('expires leases: requeues, then ends the task "runner lost" after max attempts', async () => {
    // Short leases so expiry is observable quickly, on a server of its own.
    const main = s;
    s = await startTestServer({ leaseMs: 400, heartbeatIntervalMs: 100, maxAttempts: 2 });
    try {
      await registerCode(s, 'lease');
      const [id] = await queue(s, [{ code_name: 'lease' }]);
      const [a] = await reserve(s);
      // Heartbeats keep the lease alive past its length.
      for (let i = 0; i < 6; i++) {
        const hb = await heartbeat([{ id: id!, reservation_id: a!.reservation_id }]);
        expect(hb.body.lost).toEqual([]);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await getTask(s, id!)).status).toBe('preparing');
      await waitFor('the lost task queued again', async () => (await getTask(s, id!)).status === 'queued', { everyMs: 25 });
      const hb = await heartbeat([{ id: id!, reservation_id: a!.reservation_id }]);
      expect(hb.body.lost).toEqual([id]); // fencing: the old runner learns it lost the task
      expect((await finish(id!, { reservation_id: a!.reservation_id, status: 'complete' })).status).toBe(409);
      const [b] = await reserve(s, 1, 2);
      expect(b).toMatchObject({ id, attempt: 2 });
      await waitFor('the task failed with runner lost', async () => (await getTask(s, id!)).status === 'error', { everyMs: 25 });
      expect((await getTask(s, id!)).msg).toBe('runner lost');
    } finally {
      await s.close();
      s = main;
    }
  });
});
