// The npm `iron_worker` package (0.1.8) as a real client against iron-api.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packDirectory } from '../../src/zip/index.js';
import { call, registerCode, reserve, runnerPath, startTestServer, type TestServer } from './helpers.js';

type Cb<T> = (err: Error | null, body: T) => void;
interface IronWorkerClient {
  tasksCreate(code: string, payload: unknown, options: Record<string, unknown>, cb: Cb<{ id: string }>): void;
  tasksGet(id: string, cb: Cb<Record<string, unknown>>): void;
  tasksList(options: Record<string, unknown>, cb: Cb<Record<string, unknown>[]>): void;
  tasksLog(id: string, cb: Cb<string>): void;
  tasksWaitFor(id: string, options: Record<string, unknown>, cb: Cb<Record<string, unknown>>): void;
  tasksWaitForLog(id: string, options: Record<string, unknown>, cb: Cb<string>): void;
  tasksSetProgress(id: string, options: Record<string, unknown>, cb: Cb<Record<string, unknown>>): void;
  tasksCancel(id: string, cb: Cb<Record<string, unknown>>): void;
  tasksCancelAll(codeId: string, cb: Cb<Record<string, unknown>>): void;
  tasksRetry(id: string, delay: number, cb: Cb<Record<string, unknown>>): void;
  codesList(options: Record<string, unknown>, cb: Cb<Record<string, unknown>[]>): void;
  codesGet(id: string, cb: Cb<Record<string, unknown>>): void;
  codesRevisions(id: string, options: Record<string, unknown>, cb: Cb<Record<string, unknown>[]>): void;
  api: { codesUpload(params: Record<string, unknown>, cb: Cb<Record<string, unknown>>): void };
  schedulesCreate(code: string, params: unknown, options: Record<string, unknown>, cb: Cb<{ id: string }>): void;
  schedulesGet(id: string, cb: Cb<Record<string, unknown>>): void;
  schedulesList(options: Record<string, unknown>, cb: Cb<Record<string, unknown>[]>): void;
  schedulesCancel(id: string, cb: Cb<Record<string, unknown>>): void;
  clustersCreate(name: string, memory: number, disk: number, options: Record<string, unknown>, cb: Cb<Record<string, unknown>>): void;
  clustersGet(id: string, cb: Cb<Record<string, unknown>>): void;
  clustersList(options: Record<string, unknown>, cb: Cb<Record<string, unknown>>): void;
  clustersStats(id: string, cb: Cb<Record<string, unknown>>): void;
  clustersUpdate(id: string, options: Record<string, unknown>, cb: Cb<Record<string, unknown>>): void;
  clustersDelete(id: string, cb: Cb<Record<string, unknown>>): void;
}

const require = createRequire(import.meta.url);
const ironWorker = require('iron_worker') as { Client: new (o: Record<string, unknown>) => IronWorkerClient };

let s: TestServer;
let client: IronWorkerClient;

/** Calls a callback-style client method and resolves with [err, body]. */
function cb<T>(fn: (done: Cb<T>) => void): Promise<[Error | null, T]> {
  return new Promise((resolve) => fn((err, body) => resolve([err, body])));
}
async function ok<T>(fn: (done: Cb<T>) => void): Promise<T> {
  const [err, body] = await cb(fn);
  if (err !== null && err !== undefined) throw err;
  return body;
}

beforeAll(async () => {
  s = await startTestServer();
  const u = new URL(s.url);
  client = new ironWorker.Client({ token: s.token, project_id: s.pid, host: u.hostname, port: Number(u.port), scheme: 'http' });
  await registerCode(s, 'npm');
});
afterAll(async () => s.close());

describe('iron_worker npm client against iron-api', () => {
  it('queues, reads, waits for completion and reads the log', async () => {
    const task = await ok<{ id: string }>((d) => client.tasksCreate('npm', { hello: 'world' }, { priority: 1, label: 'npm' }, d));
    expect(task.id).toMatch(/^[0-9a-f]{24}$/);
    const info = await ok<Record<string, unknown>>((d) => client.tasksGet(task.id, d));
    expect(info).toMatchObject({ status: 'queued', payload: '{"hello":"world"}', priority: 1, code_name: 'npm' });
    const listed = await ok<Record<string, unknown>[]>((d) => client.tasksList({ code_name: 'npm', queued: 1 }, d));
    expect(listed.map((t) => t['id'])).toContain(task.id);
    // Before any log exists the client sees an error mentioning the log (tasksWaitForLog retries on it).
    const [logErr] = await cb<string>((d) => client.tasksLog(task.id, d));
    expect(String(logErr?.message)).toMatch(/log/i);
    const progress = await ok<Record<string, unknown>>((d) => client.tasksSetProgress(task.id, { percent: 10, msg: 'starting' }, d));
    expect(progress).toEqual({ msg: 'Progress set' });

    // A runner does the work while the client waits.
    const waiting = ok<Record<string, unknown>>((d) => client.tasksWaitFor(task.id, { sleep: 0.05 }, d));
    const [t] = await reserve(s, 1, 5);
    await call(s.url, 'POST', runnerPath(s, t!.id, 'start'), { token: s.ctoken, json: { reservation_id: t!.reservation_id } });
    await call(s.url, 'POST', `${runnerPath(s, t!.id, 'log')}?offset=0&reservation_id=${t!.reservation_id}`, { token: s.ctoken, body: 'hello from the job\n', type: 'application/octet-stream' });
    await call(s.url, 'POST', runnerPath(s, t!.id, 'finish'), {
      token: s.ctoken,
      json: { reservation_id: t!.reservation_id, status: 'complete', exit_code: 0, msg: '', duration_ms: 5, log_size: 19 },
    });
    const done = await waiting;
    expect(done['status']).toBe('complete');
    const log = await ok<string>((d) => client.tasksWaitForLog(task.id, {}, d));
    expect(log).toBe('hello from the job\n');
    const retried = await ok<Record<string, unknown>>((d) => client.tasksRetry(task.id, 0, d));
    expect((retried['tasks'] as { id: string }[])[0]?.id).toMatch(/^[0-9a-f]{24}$/);
  });

  it('cancels a task and all tasks of a code', async () => {
    const a = await ok<{ id: string }>((d) => client.tasksCreate('npm', 'x', {}, d));
    expect(await ok((d) => client.tasksCancel(a.id, d))).toEqual({ msg: 'Cancelled' });
    expect((await ok<Record<string, unknown>>((d) => client.tasksGet(a.id, d)))['status']).toBe('cancelled');
    const codes = await ok<Record<string, unknown>[]>((d) => client.codesList({}, d));
    const code = codes.find((c) => c['name'] === 'npm');
    expect(code?.['rev']).toBe(1);
    await ok((d) => client.tasksCreate('npm', 'y', {}, d));
    const all = await ok<Record<string, unknown>>((d) => client.tasksCancelAll(String(code?.['id']), d));
    expect(all['msg']).toBe('Cancelled');
    expect((await ok<Record<string, unknown>>((d) => client.codesGet(String(code?.['id']), d)))['name']).toBe('npm');
    expect(await ok<Record<string, unknown>[]>((d) => client.codesRevisions(String(code?.['id']), {}, d))).toHaveLength(1);
  });

  it('schedules', async () => {
    const sch = await ok<{ id: string }>((d) => client.schedulesCreate('npm', { a: 1 }, { run_every: 3600, run_times: 1, start_at: new Date(Date.now() + 3_600_000).toISOString() }, d));
    expect(sch.id).toMatch(/^[0-9a-f]{24}$/);
    expect((await ok<Record<string, unknown>>((d) => client.schedulesGet(sch.id, d)))['status']).toBe('scheduled');
    expect((await ok<Record<string, unknown>[]>((d) => client.schedulesList({}, d))).map((x) => x['id'])).toContain(sch.id);
    expect(await ok((d) => client.schedulesCancel(sch.id, d))).toEqual({ msg: 'Cancelled' });
  });

  it('clusters', async () => {
    const made = await ok<Record<string, unknown>>((d) => client.clustersCreate('npm-cluster', 536870912, 1073741824, {}, d));
    const id = String(made['id']);
    expect(typeof made['token']).toBe('string');
    expect(((await ok<Record<string, unknown>>((d) => client.clustersGet(id, d)))['cluster'] as Record<string, unknown>)['name']).toBe('npm-cluster');
    const list = await ok<Record<string, unknown>>((d) => client.clustersList({}, d));
    expect((list['clusters'] as { id: string }[]).map((c) => c.id)).toContain(id);
    expect((await ok<Record<string, unknown>>((d) => client.clustersStats(id, d)))['cluster']).toMatchObject({ queued: 0 });
    expect((await ok<Record<string, unknown>>((d) => client.clustersUpdate(id, { memory: 268435456 }, d)))['msg']).toBe('Cluster updated');
    expect(await ok((d) => client.clustersDelete(id, d))).toEqual({ msg: 'Cluster deleted' });
  });

  it("uploads a code package through the client's codesUpload call (its multipart request, as codesUpload builds it)", async () => {
    // client.codesUpload() itself zips with adm-zip 0.4.4, which throws a RangeError on Node >= 10
    // (a CRC written as a signed int) before any request is made; the HTTP call underneath is what
    // reaches iron-api, so it gets exactly the params codesUpload would pass, with a zip made here.
    const dir = await mkdtemp(join(tmpdir(), 'iron-npm-upload-'));
    await writeFile(join(dir, 'worker.js'), 'console.log("hello from the npm package")\n');
    await writeFile(join(dir, '__runner__.sh'), `${await readFile(require.resolve('iron_worker/upload_files/__runner__.sh'), 'utf8')}\nnode worker.js`);
    const zip = await packDirectory(dir, AbortSignal.timeout(10_000));
    await rm(dir, { recursive: true, force: true });
    const params = {
      data: JSON.stringify({ name: 'npm-zip', file_name: '__runner__.sh', runtime: 'sh', content_type: 'text/plain' }),
      file: { buffer: zip, content_type: 'application/zip' },
    };
    const body = await ok<Record<string, unknown>>((d) => client.api.codesUpload(params, d));
    expect(body['id']).toMatch(/^[0-9a-f]{24}$/);
    const code = await ok<Record<string, unknown>>((d) => client.codesGet(String(body['id']), d));
    expect(code).toMatchObject({ name: 'npm-zip', rev: 1 });
    expect(code['latest_checksum']).toMatch(/^[0-9a-f]{32}$/);
    const dl = await fetch(`${s.url}/2/projects/${s.pid}/codes/${String(body['id'])}/download`, { headers: { authorization: `OAuth ${s.token}` } });
    expect(Buffer.from(await dl.arrayBuffer()).equals(zip)).toBe(true);
  });
});
