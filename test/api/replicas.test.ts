// API_URL with several replicas: calls stick to one and fail over to the next on connection failures
// and 503s, a parked reserve re-parks elsewhere, and the runner calls that are repeated on the next
// replica after the first one acted (a replica dying between its commit and its answer) take effect
// once. One real iron-api stands behind every "replica" here (a dead port, a server answering 503,
// a TCP proxy that cuts answers): two in-process iron-apis on one SQLite file would not be safe.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunnerClient, type FailoverEvent, type RunnerClient } from '../../src/api/index.js';
import { HttpClient } from '../../src/api/http.js';
import { isIronError } from '../../src/errors.js';
import { startApi, type Api } from '../helpers/api.js';
import { startChaosProxy, type ChaosProxy } from '../helpers/chaos-proxy.js';
import { call } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { queueTasks, registerCode } from '../helpers/queue.js';
import { waitFor } from '../helpers/wait.js';
import { json, startFakeServer, type FakeServer } from './fake-server.js';

const FAST = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 10 } as const;
const signal = (): AbortSignal => AbortSignal.timeout(20_000);

let api: Api;
const closers: (() => Promise<void>)[] = [];

beforeEach(async () => {
  api = await startApi();
  await registerCode(api, 'hello');
});

afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await api.stop();
});

function runner(urls: string[], failovers: FailoverEvent[] = []): RunnerClient {
  const c = createRunnerClient({ baseUrl: urls, token: api.clusterToken, clusterId: api.clusterId, retry: FAST, onFailover: (e) => failovers.push(e) });
  closers.push(() => c.close());
  return c;
}

async function unavailable(): Promise<FakeServer> {
  const s = await startFakeServer((_r, res) => json(res, 503, { msg: 'shutting down' }, { 'retry-after': '0' }));
  closers.push(() => s.close());
  return s;
}

async function proxy(opts: { cutResponses?: boolean } = {}): Promise<ChaosProxy> {
  const p = await startChaosProxy(api.handle.port, { maxDelayMs: 0, dropConnection: 0, cutPerChunk: 0, ...opts });
  closers.push(() => p.close());
  return p;
}

async function reserveOne(c: RunnerClient): Promise<{ id: string; reservation_id: string }> {
  const res = await c.runner.reserve({ instance_id: 'r-replicas', n: 1, wait: 5 }, signal());
  const t = res.tasks[0];
  if (t === undefined) throw new Error('no task reserved');
  return t;
}

async function parked(): Promise<number> {
  const r = await call(api.url, 'GET', '/metrics');
  const m = /^iron_reserves_parked (\d+)/m.exec(r.text);
  return Number(m?.[1] ?? 0);
}

describe('several API replicas', () => {
  it('validates every URL once, with a stable code', () => {
    for (const bad of [['http://ok:1', 'ftp://x'], ['not a url'], []]) {
      let err: unknown;
      try {
        new HttpClient({ baseUrl: bad, token: 't' });
      } catch (e) {
        err = e;
      }
      expect(isIronError(err, 'ERR_INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('fails over from a dead port to a working replica and stays there', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const failovers: FailoverEvent[] = [];
    const c = runner([dead, api.url], failovers);
    expect((await c.runner.getCluster(signal())).id).toBe(api.clusterId);
    expect(failovers).toEqual([{ from: new URL(dead).origin, to: new URL(api.url).origin, reason: 'ECONNREFUSED' }]);
    expect(c.http.origin).toBe(new URL(api.url).origin);
    for (let i = 0; i < 3; i++) await c.runner.getCluster(signal());
    expect(failovers).toHaveLength(1);
  });

  it('fails over on 503 and does not go back while the replica it moved to works', async () => {
    const down = await unavailable();
    const failovers: FailoverEvent[] = [];
    const c = runner([down.url, api.url], failovers);
    for (let i = 0; i < 5; i++) await c.runner.heartbeat({ instance_id: 'r-replicas', tasks: [] }, signal());
    expect(down.seen).toHaveLength(1);
    expect(failovers.map((f) => f.reason)).toEqual(['HTTP 503']);
  });

  it('when every replica is down, each round tries each once and the policy bounds the rounds', async () => {
    const a = await unavailable();
    const b = await unavailable();
    const c = runner([a.url, b.url]);
    const err: unknown = await c.runner.getCluster(signal()).catch((e: unknown) => e);
    expect(isIronError(err, 'ERR_API_UNAVAILABLE')).toBe(true);
    expect(a.seen.length).toBe(FAST.maxAttempts);
    expect(b.seen.length).toBe(FAST.maxAttempts);
  });

  it('a queue call (not idempotent) whose answer was lost is not repeated on the next replica', async () => {
    const lossy = await proxy({ cutResponses: true });
    const http = new HttpClient({ baseUrl: [lossy.url, api.url], token: api.projectToken, retry: FAST });
    closers.push(() => http.close());
    const err: unknown = await http
      .send({ method: 'POST', path: `/2/projects/${api.projectId}/tasks`, json: { tasks: [{ code_name: 'hello', payload: 'once', cluster: api.clusterId }] }, idempotent: false }, signal())
      .catch((e: unknown) => e);
    expect(isIronError(err, 'ERR_API_NETWORK')).toBe(true);
    const list = await api.client.project.listTasks({ codeName: 'hello' }, signal());
    expect(list.filter((t) => t.payload === 'once')).toHaveLength(1);
  });

  it('start, log appends and finish repeated on the next replica after the first acted take effect once', async () => {
    const [id] = await queueTasks(api, 'hello');
    const direct = runner([api.url]);
    const t = await reserveOne(direct);
    expect(t.id).toBe(id);
    const lossy = await proxy({ cutResponses: true });
    const failovers: FailoverEvent[] = [];
    // A fresh client per call: each starts on the lossy replica, which acts and then drops the answer.
    const viaLossy = (): RunnerClient => runner([lossy.url, api.url], failovers);
    await viaLossy().runner.start(t.id, t.reservation_id, signal());
    const first = Buffer.from('line one\n');
    const second = Buffer.from('line two\n');
    expect((await viaLossy().runner.appendLog(t.id, 0, first, signal(), { reservationId: t.reservation_id })).size).toBe(first.length);
    expect((await viaLossy().runner.appendLog(t.id, first.length, second, signal(), { reservationId: t.reservation_id })).size).toBe(first.length + second.length);
    await viaLossy().runner.finish(t.id, { reservation_id: t.reservation_id, status: 'complete', exit_code: 0, msg: '' }, signal());
    expect(failovers).toHaveLength(4);
    expect(failovers.every((f) => f.from === new URL(lossy.url).origin)).toBe(true);
    expect(lossy.stats.cut).toBe(4);
    const task = await api.client.project.getTask(t.id, signal());
    expect(task.status).toBe('complete');
    expect((await api.client.project.getTaskLog(t.id, signal())).toString()).toBe('line one\nline two\n');
  });

  it('a finish-with-log repeated on the next replica after the first acted writes its bytes once', async () => {
    const [id] = await queueTasks(api, 'hello');
    const direct = runner([api.url]);
    const t = await reserveOne(direct);
    expect(t.id).toBe(id);
    await direct.runner.start(t.id, t.reservation_id, signal());
    const first = Buffer.from('line one\n');
    await direct.runner.appendLog(t.id, 0, first, signal(), { reservationId: t.reservation_id });
    const lossy = await proxy({ cutResponses: true });
    const failovers: FailoverEvent[] = [];
    const tail = Buffer.from('last line\n');
    await runner([lossy.url, api.url], failovers).runner.finishWithLog(
      t.id,
      { reservation_id: t.reservation_id, status: 'complete', exit_code: 0, msg: '', log_size: first.length + tail.length, log_tail: { offset: first.length, data: tail.toString('base64') } },
      signal(),
    );
    expect(failovers).toHaveLength(1);
    expect(lossy.stats.cut).toBe(1);
    expect((await api.client.project.getTask(t.id, signal())).status).toBe('complete');
    expect((await api.client.project.getTaskLog(t.id, signal())).toString()).toBe('line one\nlast line\n');
  });

  it('a parked reserve whose replica goes away parks again on the next one and gets the task', async () => {
    const front = await proxy();
    const failovers: FailoverEvent[] = [];
    const c = runner([front.url, api.url], failovers);
    const reserving = c.runner.reserve({ instance_id: 'r-replicas', n: 1, wait: 20 }, signal());
    await waitFor('the reserve parked through the first replica', async () => (await parked()) === 1);
    await front.close();
    await waitFor('the reserve parked again on the second replica', () => failovers.length === 1);
    await waitFor('one parked reserve', async () => (await parked()) === 1);
    const [id] = await queueTasks(api, 'hello');
    const res = await reserving;
    expect(res.tasks.map((t) => t.id)).toEqual([id]);
    expect(failovers[0]?.from).toBe(new URL(front.url).origin);
  });
});
