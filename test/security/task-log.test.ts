// Issue 13 items 7 and 12, and the log chunk protocol: the API caps each task's log
// (MAX_TASK_LOG_SIZE), marks it truncated as a field (never a line in the log), answers 413
// `log_limit` that the runner's shipper handles without losing the outcome, refuses appends to a
// finished or superseded task, and rejects malformed offsets. /healthz answers during a flood.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunnerClient } from '../../src/api/index.js';
import { silentLogger } from '../../src/log.js';
import { LogShipper } from '../../src/runner/log-shipper.js';
import { call, getTask, queue, registerCode, reserve, startTestServer, type Reserved, type TestServer } from '../server/helpers.js';

const CAP = 64 * 1024;
let s: TestServer;
let spool: string;

beforeAll(async () => {
  s = await startTestServer({ maxLogBytes: CAP });
  await registerCode(s, 'chatty');
  spool = await mkdtemp(join(tmpdir(), 'iron-tasklog-'));
});
afterAll(async () => {
  await s?.close();
  await rm(spool, { recursive: true, force: true });
});

async function reserveOne(): Promise<Reserved> {
  await queue(s, [{ code_name: 'chatty', payload: '{}' }]);
  const [t] = await reserve(s, 1, 0);
  if (t === undefined) throw new Error('nothing reserved');
  return t;
}

function append(t: Reserved, offset: string | number, body: Buffer | string, rid: string | null = t.reservation_id) {
  const q = `offset=${offset}${rid === null ? '' : `&reservation_id=${rid}`}`;
  return call(s.url, 'POST', `/2/clusters/${s.cid}/runner/tasks/${t.id}/log?${q}`, { token: s.ctoken, body, type: 'application/octet-stream' });
}

async function logOf(id: string): Promise<Buffer> {
  const res = await fetch(`${s.url}/2/projects/${s.pid}/tasks/${id}/log`, { headers: { authorization: `OAuth ${s.token}` } });
  return Buffer.from(await res.arrayBuffer());
}

describe('task log limits and the chunk protocol', () => {
  it('caps the stored log, marks the task log_truncated and answers 413 log_limit; /healthz answers during a flood', async () => {
    const t = await reserveOne();
    expect((await append(t, 0, Buffer.alloc(40_000, 'a'))).status).toBe(200);
    const over = await append(t, 40_000, Buffer.alloc(40_000, 'b'));
    expect(over.status).toBe(413);
    expect(over.body).toMatchObject({ reason: 'log_limit', size: CAP });
    let worst = 0;
    const flood = (async () => {
      for (let i = 0; i < 50; i++) expect((await append(t, CAP, Buffer.alloc(1024 * 1024, 'c'))).status).toBe(413);
    })();
    let done = false;
    void flood.finally(() => (done = true));
    while (!done) {
      const t0 = Date.now();
      expect((await call(s.url, 'GET', '/healthz')).status).toBe(200);
      worst = Math.max(worst, Date.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    await flood;
    expect(worst).toBeLessThan(3_000);
    expect((await logOf(t.id)).length).toBe(CAP);
    const task = await getTask(s, t.id);
    expect(task).toMatchObject({ log_truncated: true, log_size: CAP });
  });

  it('refuses appends to a finished task and to a superseded reservation', async () => {
    const t = await reserveOne();
    expect((await append(t, 0, 'first\n')).status).toBe(200);
    const fin = await call(s.url, 'POST', `/2/clusters/${s.cid}/runner/tasks/${t.id}/finish`, { token: s.ctoken, json: { reservation_id: t.reservation_id, status: 'complete' } });
    expect(fin.status).toBe(200);
    const late = await append(t, 6, 'late\n');
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ reason: 'finished' });
    expect((await logOf(t.id)).toString()).toBe('first\n');

    const u = await reserveOne();
    await call(s.url, 'POST', `/2/clusters/${s.cid}/runner/tasks/${u.id}/finish`, { token: s.ctoken, json: { reservation_id: u.reservation_id, status: 'requeue' } });
    const [again] = await reserve(s, 1, 0);
    expect(again?.id).toBe(u.id);
    const stale = await append(u, 0, 'stale\n');
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ reason: 'superseded' });
    expect((await append(u, 0, 'no reservation\n', null)).status).toBe(400);
  });

  it('rejects malformed offsets and oversized chunks without touching the log', async () => {
    const t = await reserveOne();
    for (const bad of ['-1', '1e3', '0x10', '99999999999999999999', ' 1', '']) {
      expect((await append(t, encodeURIComponent(bad), 'x')).status, `offset ${JSON.stringify(bad)}`).toBe(400);
    }
    expect((await append(t, 0, Buffer.alloc(9 * 1024 * 1024))).status).toBe(413);
    expect((await append(t, 5, 'gap')).status).toBe(409);
    expect((await logOf(t.id)).length).toBe(0);
  });

  it('truncation is a field: a log that prints the old marker line is just text', async () => {
    const t = await reserveOne();
    const forged = '\n[iron-runner] log truncated: output exceeded 10 MiB; the task keeps running, further output is discarded\n';
    expect((await append(t, 0, forged)).status).toBe(200);
    await call(s.url, 'POST', `/2/clusters/${s.cid}/runner/tasks/${t.id}/finish`, { token: s.ctoken, json: { reservation_id: t.reservation_id, status: 'complete' } });
    expect((await getTask(s, t.id))['log_truncated']).toBeUndefined();
    const u = await reserveOne();
    await call(s.url, 'POST', `/2/clusters/${s.cid}/runner/tasks/${u.id}/finish`, {
      token: s.ctoken,
      json: { reservation_id: u.reservation_id, status: 'complete', log_truncated: true },
    });
    expect((await getTask(s, u.id))['log_truncated']).toBe(true);
  });

  it("the runner's shipper stops at log_limit and still closes, so the outcome is reported", async () => {
    const t = await reserveOne();
    const client = createRunnerClient({ baseUrl: s.url, token: s.ctoken, clusterId: s.cid });
    const shipper = new LogShipper({
      api: client.runner,
      taskId: t.id,
      reservationId: t.reservation_id,
      spoolDir: spool,
      log: silentLogger(),
      retry: { maxAttempts: 5, baseDelayMs: 20, maxDelayMs: 200 },
      maxChunkBytes: 16 * 1024,
      flushIntervalMs: 20,
    });
    await shipper.open();
    try {
      for (let i = 0; i < 64; i++) await shipper.write(Buffer.alloc(16 * 1024, 'z'));
      const size = await shipper.close(AbortSignal.timeout(20_000));
      expect(shipper.truncated).toBe(true);
      expect(size).toBe(CAP);
    } finally {
      await shipper.dispose();
    }
    const fin = await call(s.url, 'POST', `/2/clusters/${s.cid}/runner/tasks/${t.id}/finish`, {
      token: s.ctoken,
      json: { reservation_id: t.reservation_id, status: 'complete', log_truncated: shipper.truncated },
    });
    expect(fin.status).toBe(200);
    expect(await getTask(s, t.id)).toMatchObject({ status: 'complete', log_truncated: true, log_size: CAP });
  });
});
