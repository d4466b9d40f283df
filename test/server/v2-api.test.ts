import { craftZip } from '../helpers/zip-craft.js';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, getTask, queue, registerCode, reserve, runnerPath, startTestServer, type TestServer } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

let s: TestServer;
const METRICS_TOKEN = 'metrics-token-for-the-v2-test';
beforeAll(async () => {
  s = await startTestServer({ metricsToken: METRICS_TOKEN });
});
afterAll(async () => s.close());

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** Sends a body in chunks without Content-Length, as iron_go3 streams code uploads. */
function chunkedPost(path: string, type: string, parts: string[], method = 'POST'): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(s.url + path);
    // Node only frames GET bodies with an explicit length (Go sends one for its `{}` bodies).
    const length: Record<string, number> = method === 'POST' ? {} : { 'content-length': Buffer.byteLength(parts.join('')) };
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method, headers: { authorization: `OAuth ${s.token}`, 'content-type': type, ...length } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    for (const p of parts) req.write(p);
    req.end();
  });
}

describe('v2 API with the shapes real clients send', () => {
  it('registers an image as ironcli does (chunked multipart, data only, trailing newline, -1000 priority)', async () => {
    const boundary = 'a'.repeat(60);
    const data = `${JSON.stringify({ name: 'cli', runtime: '', file_name: '', stack: '', image: 'iron-test/busybox:1', command: 'echo hi', env_vars: null, default_priority: -1000 })}\n`;
    const body = [`--${boundary}\r\nContent-Disposition: form-data; name="data"\r\n\r\n`, data, `\r\n--${boundary}--\r\n`];
    const r = await chunkedPost(`/2/projects/${s.pid}/codes`, `multipart/form-data; boundary=${boundary}`, body);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: 'cli', image: 'iron-test/busybox:1', rev: 1, msg: 'Upload successful.' });
    expect(r.body['id']).toMatch(/^[0-9a-f]{24}$/);
    expect(r.body['default_priority']).toBeUndefined();
    // Re-registering adds a revision.
    const r2 = await chunkedPost(`/2/projects/${s.pid}/codes`, `multipart/form-data; boundary=${boundary}`, body);
    expect(r2.body).toMatchObject({ id: r.body['id'], rev: 2 });
    // iron_go3 sends `{}` bodies on GET too.
    const revs = await chunkedPost(`/2/projects/${s.pid}/codes/${String(r.body['id'])}/revisions`, 'application/json', ['{}'], 'GET');
    expect((revs.body['revisions'] as { rev: number }[]).map((x) => x.rev)).toEqual([2, 1]);
  });

  it('stores an uploaded zip and serves it back', async () => {
    const boundary = 'b'.repeat(30);
    // A real (stored, latin-1 safe) zip: uploads are checked, so fake bytes are refused now.
    const zip = craftZip([{ name: '__runner__.sh', data: 'echo hi\n' }]).toString('latin1');
    const body = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="data"\r\n\r\n{"name":"zipped","runtime":"sh","file_name":"__runner__.sh"}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="file"\r\nContent-Type: application/zip\r\n\r\n${zip}\r\n--${boundary}--\r\n`,
      'latin1',
    );
    const r = await call(s.url, 'POST', `/2/projects/${s.pid}/codes`, { token: s.token, body, type: `multipart/form-data; boundary=${boundary}` });
    expect(r.status).toBe(200);
    expect(r.body['latest_checksum']).toMatch(/^[0-9a-f]{32}$/);
    const dl = await call(s.url, 'GET', `/2/projects/${s.pid}/codes/${String(r.body['id'])}/download`, { token: s.token });
    expect(dl.type).toBe('application/zip');
    const again = await fetch(`${s.url}/2/projects/${s.pid}/codes/${String(r.body['id'])}/download`, { headers: { authorization: `OAuth ${s.token}` } });
    expect(Buffer.from(await again.arrayBuffer()).toString('latin1')).toBe(zip);
  });

  it("queues ironcli's exact body and returns the task in Go-decodable shape", async () => {
    const r = await call<{ msg: string; tasks: { id: string }[] }>(s.url, 'POST', `/2/projects/${s.pid}/tasks`, {
      token: s.token,
      body: '{"tasks":[{"cluster":"","code_name":"cli","delay":0,"label":"","payload":"","priority":-3,"timeout":0}]}',
      type: 'application/json',
    });
    expect(r.status).toBe(200);
    expect(r.body.msg).toBe('Queued up');
    const t = await getTask(s, r.body.tasks[0]!.id);
    expect(t).toMatchObject({ status: 'queued', code_name: 'cli', code_rev: '2', priority: 0, timeout: 3600, project_id: s.pid });
    expect(t['created_at']).toMatch(RFC3339);
    expect(t['msg']).toBeUndefined();
  });

  it('lists with truthy status flags, empty code_name, label, cluster and pagination', async () => {
    await registerCode(s, 'listme');
    const ids = await queue(s, [
      { code_name: 'listme', label: 'L1' },
      { code_name: 'listme', label: 'L2' },
      { code_name: 'listme', label: 'L1' },
    ]);
    const list = (qs: string) => call<{ tasks: { id: string }[] }>(s.url, 'GET', `/2/projects/${s.pid}/tasks?${qs}`, { token: s.token });
    const goStyle = await list('code_name=listme&queued=%25!d(bool=true)');
    expect(goStyle.body.tasks.map((t) => t.id).sort()).toEqual([...ids].sort());
    expect((await list('code_name=listme&complete=1')).body.tasks).toEqual([]);
    expect((await list('code_name=listme&label=L1')).body.tasks).toHaveLength(2);
    expect((await list('code_name=&cluster=default&per_page=2&page=0')).body.tasks).toHaveLength(2);
    expect((await list('code_name=listme&per_page=2&page=1')).body.tasks).toHaveLength(1);
  });

  it('progress, retry, webhook and code stats', async () => {
    const codeId = await registerCode(s, 'misc');
    const [id] = await queue(s, [{ code_name: 'misc', payload: 'x' }]);
    const p = await call(s.url, 'POST', `/2/projects/${s.pid}/tasks/${id}/progress`, { token: s.token, json: { percent: 50, msg: 'half' } });
    expect(p.body).toEqual({ msg: 'Progress set' });
    expect(await getTask(s, id!)).toMatchObject({ percent: 50, msg: 'half' });
    expect((await call(s.url, 'POST', `/2/projects/${s.pid}/tasks/${id}/retry`, { token: s.token, json: { delay: 1 } })).status).toBe(409);
    const got = await reserve(s, 10);
    for (const t of got) await call(s.url, 'POST', runnerPath(s, t.id, 'finish'), { token: s.ctoken, json: { reservation_id: t.reservation_id, status: 'complete' } });
    expect((await getTask(s, id!)).msg).toBe('half'); // progress msg kept on complete
    const retry = await call<{ tasks: { id: string }[] }>(s.url, 'POST', `/2/projects/${s.pid}/tasks/${id}/retry`, { token: s.token, json: { delay: 0 } });
    expect(retry.status).toBe(200);
    expect(await getTask(s, retry.body.tasks[0]!.id)).toMatchObject({ payload: 'x', retry_of: id, status: 'queued' });
    const hook = await call(s.url, 'POST', `/2/projects/${s.pid}/tasks/webhook?code_name=misc&oauth=${s.token}&priority=2`, { body: 'raw body', type: 'text/plain' });
    expect(hook.body['msg']).toBe('Queued up.');
    expect(await getTask(s, String(hook.body['id']))).toMatchObject({ payload: 'raw body', priority: 2 });
    const stats = await call(s.url, 'GET', `/2/projects/${s.pid}/codes/${codeId}/stats`, { token: s.token });
    expect(stats.body).toMatchObject({ queued: 2, complete: 1 });
    const all = await call(s.url, 'POST', `/2/projects/${s.pid}/codes/${codeId}/cancel_all`, { token: s.token, json: {} });
    expect(all.body['cancelled_count']).toBe(2);
  });

  it('schedules: validation, and the scheduler queues their tasks', async () => {
    await registerCode(s, 'sched');
    const post = (schedules: unknown[]) => call<{ schedules: { id: string }[] }>(s.url, 'POST', `/2/projects/${s.pid}/schedules`, { token: s.token, json: { schedules } });
    expect((await post([{ code_name: 'sched', payload: '{}', run_every: 30 }])).status).toBe(400);
    expect((await post([{ code_name: 'sched', payload: '' }])).status).toBe(400);
    const r = await post([
      { cluster: '', code_name: 'sched', delay: 0, label: 'S', name: '', payload: '{}', run_times: 2, timeout: 0, run_every: 60, start_at: new Date(Date.now() - 1000).toISOString() },
    ]);
    expect(r.status).toBe(200);
    const sid = r.body.schedules[0]!.id;
    await waitFor(
      'a task queued by the schedule',
      async () => {
        const l = await call<{ tasks: { schedule_id?: string }[] }>(s.url, 'GET', `/2/projects/${s.pid}/tasks?code_name=sched`, { token: s.token });
        return l.body.tasks.some((t) => t.schedule_id === sid);
      },
      { everyMs: 25 },
    );
    const info = await call(s.url, 'GET', `/2/projects/${s.pid}/schedules/${sid}`, { token: s.token });
    expect(info.body).toMatchObject({ id: sid, run_count: 1, status: 'scheduled', run_every: 60, run_times: 2 });
    expect(info.body['next_start']).toMatch(RFC3339);
    const list = await call<{ schedules: unknown[] }>(s.url, 'GET', `/2/projects/${s.pid}/schedules`, { token: s.token });
    expect(list.body.schedules.length).toBeGreaterThanOrEqual(1);
    expect((await call(s.url, 'POST', `/2/projects/${s.pid}/schedules/${sid}/cancel`, { token: s.token })).body).toEqual({ msg: 'Cancelled' });
  });

  it('clusters: create with a token, list, update, credentials, stats, delete', async () => {
    const c = await call<{ id: string; token: string; cluster: { disk_space: number } }>(s.url, 'POST', '/2/clusters', { token: s.token, json: { name: 'c1', memory: 536870912, disk: 1073741824 } });
    expect(c.body.id).toMatch(/^[0-9a-f]{24}$/);
    expect(c.body.token.length).toBeGreaterThan(20);
    expect(c.body.cluster.disk_space).toBe(1073741824);
    const list = await call<{ clusters: { id: string }[] }>(s.url, 'GET', '/2/clusters', { token: s.token });
    expect(list.body.clusters.map((x) => x.id)).toContain(c.body.id);
    const up = await call<{ cluster: { memory: number; autoscale: Record<string, unknown> } }>(s.url, 'PUT', `/2/clusters/${c.body.id}`, {
      token: s.token,
      json: { memory: 1073741824, autoscale: { runners_min: 2 } },
    });
    expect(up.body.cluster).toMatchObject({ memory: 1073741824, autoscale: { runners_min: 2 } });
    const cred = await call<{ token: string }>(s.url, 'GET', `/2/clusters/${c.body.id}/credentials`, { token: s.token });
    expect((await call(s.url, 'GET', `/2/clusters/${c.body.id}`, { token: cred.body.token })).status).toBe(200);
    await registerCode(s, 'oncluster');
    await queue(s, [{ code_name: 'oncluster', cluster: 'c1' }]);
    const stats = await call<{ cluster: { queued: number } }>(s.url, 'GET', `/2/clusters/${c.body.id}/stats`, { token: s.token });
    expect(stats.body.cluster.queued).toBe(1);
    expect((await call(s.url, 'DELETE', `/2/clusters/${c.body.id}`, { token: s.token, json: {} })).status).toBe(409);
    await reserve(s, 1, 0, 'r', c.body.id, c.body.token).then(async ([t]) =>
      call(s.url, 'POST', `/2/clusters/${c.body.id}/runner/tasks/${t!.id}/finish`, { token: c.body.token, json: { reservation_id: t!.reservation_id, status: 'complete' } }),
    );
    expect((await call(s.url, 'DELETE', `/2/clusters/${c.body.id}`, { token: s.token, json: {} })).body).toEqual({ msg: 'Cluster deleted' });
    expect((await call(s.url, 'GET', `/2/clusters/${c.body.id}`, { token: c.body.token })).status).toBe(401);
  });

  it('healthz and metrics with queue depth per cluster and priority', async () => {
    expect((await call(s.url, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    await registerCode(s, 'depth');
    await queue(s, [{ code_name: 'depth', priority: 2 }]);
    const m = await call(s.url, 'GET', '/metrics');
    expect(m.text).toContain('iron_queue_depth{priority="2"} 1');
    expect(m.text).toMatch(/iron_api_requests_total\{/);
    expect(m.text).not.toContain(s.cid);
    const full = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }).then((r) => r.text());
    expect(full).toContain(`iron_cluster_queue_depth{cluster="${s.cid}",priority="2"} 1`);
    expect(full).toContain('iron_cluster_reservations_total');
    expect((await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
  });
});
