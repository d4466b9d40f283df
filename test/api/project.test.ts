import { afterEach, describe, expect, it } from 'vitest';
import { createIronClient, type IronClient } from '../../src/api/index.js';
import { json, startFakeServer, type FakeServer } from './fake-server.js';

const PID = '5f0000000000000000000001';
const open: { s: FakeServer; c: IronClient }[] = [];

async function setup(handler: FakeServer['handler']): Promise<{ s: FakeServer; c: IronClient }> {
  const s = await startFakeServer(handler);
  const c = createIronClient({ baseUrl: s.url, token: 'user-token', projectId: PID, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
  open.push({ s, c });
  return { s, c };
}

afterEach(async () => {
  for (const { s, c } of open.splice(0)) {
    await c.close();
    await s.close();
  }
});

const signal = (): AbortSignal => AbortSignal.timeout(10_000);

describe('ProjectApi', () => {
  it('registers a code with an ironcli-shaped multipart body (one data part, JSON + newline)', async () => {
    const { s, c } = await setup((_r, res) => json(res, 200, { id: 'code1', msg: 'Upload successful.', rev: 2 }));
    const code = await c.project.registerCode({ name: 'iron/hello', image: 'iron/hello:1', command: '', env_vars: { A: 'b' } }, signal());
    expect(code).toMatchObject({ id: 'code1', name: 'iron/hello', rev: 2 });
    const req = s.seen[0];
    expect(req?.url).toBe(`/2/projects/${PID}/codes`);
    const m = /^multipart\/form-data; boundary=([0-9a-f]{60})$/.exec(String(req?.headers['content-type']));
    expect(m).not.toBeNull();
    const boundary = m?.[1] ?? '';
    const body = req?.body.toString() ?? '';
    expect(body).toBe(
      `--${boundary}\r\nContent-Disposition: form-data; name="data"\r\n\r\n` +
        `${JSON.stringify({ name: 'iron/hello', image: 'iron/hello:1', command: '', env_vars: { A: 'b' } })}\n\r\n--${boundary}--\r\n`,
    );
  });

  it('queues a batch and returns ids in order; never retries a queue after a 500', async () => {
    const { s, c } = await setup((req, res) => {
      const { tasks } = JSON.parse(req.body.toString()) as { tasks: unknown[] };
      json(res, 200, { msg: 'Queued up', tasks: tasks.map((_t, i) => ({ id: `t${i}` })) });
    });
    const ids = await c.project.queueTasks(
      [
        { code_name: 'a', payload: '1' },
        { code_name: 'a', payload: '2', cluster: 'c' },
      ],
      signal(),
    );
    expect(ids).toEqual(['t0', 't1']);
    expect(JSON.parse(s.seen[0]?.body.toString() ?? '')).toEqual({
      tasks: [
        { code_name: 'a', payload: '1' },
        { code_name: 'a', payload: '2', cluster: 'c' },
      ],
    });
    s.handler = (_r, res) => json(res, 500, { msg: 'boom' });
    await expect(c.project.queueTasks([{ code_name: 'a', payload: '' }], signal())).rejects.toMatchObject({ code: 'ERR_API_UNAVAILABLE' });
    expect(s.seen).toHaveLength(2);
  });

  it('lists tasks with status flags and filters as query parameters', async () => {
    const { s, c } = await setup((_r, res) => json(res, 200, { tasks: [{ id: 't', code_name: 'a', status: 'error' }] }));
    const tasks = await c.project.listTasks({ codeName: 'a', statuses: ['error', 'timeout'], perPage: 5 }, signal());
    expect(tasks).toHaveLength(1);
    const url = new URL(s.seen[0]?.url ?? '', 'http://x');
    expect(url.pathname).toBe(`/2/projects/${PID}/tasks`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ code_name: 'a', per_page: '5', error: '1', timeout: '1' });
  });

  it('reads a log as raw bytes and maps a missing log to ERR_API_NOT_FOUND', async () => {
    const { c } = await setup((req, res) => {
      if (req.url.endsWith('/t1/log')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('line1\nline2\n');
        return;
      }
      json(res, 404, { msg: 'Log not found' });
    });
    expect((await c.project.getTaskLog('t1', signal())).toString()).toBe('line1\nline2\n');
    await expect(c.project.getTaskLog('t2', signal())).rejects.toMatchObject({ code: 'ERR_API_NOT_FOUND' });
  });

  it('retry returns the new task id; schedules and docker login use the documented bodies', async () => {
    const { s, c } = await setup((req, res) => {
      if (req.url.includes('/retry')) return json(res, 200, { tasks: [{ id: 'new1' }] });
      if (req.url.endsWith('/schedules')) return json(res, 200, { schedules: [{ id: 's1' }] });
      return json(res, 200, { msg: 'ok' });
    });
    expect(await c.project.retryTask('old', 5, signal())).toBe('new1');
    expect(JSON.parse(s.seen[0]?.body.toString() ?? '')).toEqual({ delay: 5 });
    expect(await c.project.createSchedules([{ code_name: 'a', payload: '{}', run_every: 60 }], signal())).toEqual(['s1']);
    await c.project.dockerLogin({ username: 'u', password: 'p', email: 'e@x' }, signal());
    const auth = (JSON.parse(s.seen[2]?.body.toString() ?? '') as { auth: string }).auth;
    expect(JSON.parse(Buffer.from(auth, 'base64').toString())).toEqual({ email: 'e@x', username: 'u', password: 'p', serveraddress: '' });
  });
});

describe('ClustersApi', () => {
  it('creates with disk and disk_space, and reads both credential shapes', async () => {
    const { s, c } = await setup((req, res, n) => {
      if (req.method === 'POST') return json(res, 200, { msg: 'Cluster created', cluster: { id: 'c1', name: 'n' } });
      return json(res, 200, n === 2 ? { token: 'ct1' } : { cluster: { id: 'c1', tokens: ['ct2'] } });
    });
    expect(await c.clusters.create({ name: 'n', memory: 512, disk: 1024 }, signal())).toMatchObject({ id: 'c1' });
    expect(JSON.parse(s.seen[0]?.body.toString() ?? '')).toEqual({ name: 'n', memory: 512, disk: 1024, disk_space: 1024 });
    expect(await c.clusters.credentials('c1', signal())).toBe('ct1');
    expect(await c.clusters.credentials('c1', signal())).toBe('ct2');
    expect(s.seen[1]?.url).toBe('/2/clusters/c1/credentials');
  });
});
