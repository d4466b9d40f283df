// Log chunks of one task in flight at once: a chunk that overtakes an earlier one still being received
// waits for it and is applied in order; without an earlier one under way, or past its wait budget or
// the limits, it is refused with 409 and the stored size as before.
import { request } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogFiles } from '../../src/server/store/logs.js';
import { call, queue, registerCode, reserve, runnerPath, startTestServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
  await registerCode(s, 'order');
});
afterAll(async () => {
  await s.close();
});

/** Starts a log append whose body is held back until the returned `finish` is called. */
function slowAppend(path: string, body: Buffer): { finish(): void; answer: Promise<{ status: number; text: string }> } {
  const u = new URL(s.url + path);
  let finish = (): void => undefined;
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST',
      headers: { authorization: `OAuth ${s.ctoken}`, 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.write(body.subarray(0, 1));
    finish = () => req.end(body.subarray(1));
  });
  return { finish: () => finish(), answer };
}

describe('log chunks out of order', () => {
  it('applies a chunk that overtook an earlier one once the earlier one lands', async () => {
    const [id] = await queue(s, [{ code_name: 'order', payload: '', cluster: s.cid }]);
    const t = (await reserve(s))[0];
    if (id === undefined || t === undefined) throw new Error('no task');
    const at = (offset: number): string => `${runnerPath(s, id, 'log')}?offset=${offset}&reservation_id=${t.reservation_id}`;
    const first = slowAppend(at(0), Buffer.from('hello '));
    // Let the first request's headers reach the server before the second chunk arrives.
    await new Promise((r) => setTimeout(r, 100));
    const second = call(s.url, 'POST', at(6), { token: s.ctoken, body: 'world\n', type: 'application/octet-stream' });
    await new Promise((r) => setTimeout(r, 400));
    first.finish();
    expect(await first.answer).toEqual({ status: 200, text: '{"size":6}' });
    expect((await second).body).toEqual({ size: 12 });
    const log = await call(s.url, 'GET', `/2/projects/${s.pid}/tasks/${id}/log`, { token: s.token });
    expect(log.text).toBe('hello world\n');
  });
});

describe('LogFiles wait bounds', () => {
  const writer = { reservationId: 'r1', attempt: 1 };
  const task = 'a'.repeat(24);

  async function withLogs(fn: (logs: LogFiles, dir: string) => Promise<void>): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'iron-log-order-'));
    try {
      const logs = new LogFiles(dir, undefined, { maxWaitMs: 300, graceMs: 50, maxWaitingPerTask: 1, maxWaitingBytes: 1024 });
      await logs.init();
      await fn(logs, dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('refuses a gap after the grace when no earlier request is under way', async () => {
    await withLogs(async (logs) => {
      expect(await logs.append(task, writer, 0, [Buffer.from('ab')])).toEqual({ ok: true, size: 2, total: 2 });
      const release = logs.enter(task);
      const t0 = Date.now();
      expect(await logs.append(task, writer, 5, [Buffer.from('x')])).toEqual({ ok: false, size: 2, total: 2 });
      expect(Date.now() - t0).toBeLessThan(5_000);
      release();
    });
  });

  it('gives up after maxWaitMs while the earlier request never delivers, and honours the limits', async () => {
    await withLogs(async (logs, dir) => {
      const earlier = logs.enter(task);
      const a = logs.enter(task);
      const waiting = logs.append(task, writer, 3, [Buffer.from('def')]);
      // The task's one waiting slot is taken: a second chunk ahead is refused at once.
      const b = logs.enter(task);
      const t0 = Date.now();
      expect(await logs.append(task, writer, 6, [Buffer.from('g')])).toEqual({ ok: false, size: 0, total: 0 });
      expect(Date.now() - t0).toBeLessThan(250);
      b();
      expect(await waiting).toEqual({ ok: false, size: 0, total: 0 });
      a();
      // The earlier chunk arrives late: stored, and the resent one is applied after it.
      expect(await logs.append(task, writer, 0, [Buffer.from('a'), Buffer.from('bc')])).toEqual({ ok: true, size: 3, total: 3 });
      earlier();
      expect(await logs.append(task, writer, 1, [Buffer.from('bcd'), Buffer.from('ef')])).toEqual({ ok: true, size: 6, total: 6 });
      expect(await readFile(join(dir, 'logs', `${task}.log`), 'utf8')).toBe('abcdef');
    });
  });

  it('applies waiting chunks in order as the gap fills', async () => {
    await withLogs(async (logs, dir) => {
      const releases = [logs.enter(task), logs.enter(task)];
      const ahead = logs.append(task, writer, 2, [Buffer.from('cd')]);
      await new Promise((r) => setTimeout(r, 20));
      expect(await logs.append(task, writer, 0, [Buffer.from('ab')])).toEqual({ ok: true, size: 2, total: 2 });
      expect(await ahead).toEqual({ ok: true, size: 4, total: 4 });
      for (const r of releases) r();
      expect(await readFile(join(dir, 'logs', `${task}.log`), 'utf8')).toBe('abcd');
    });
  });
});
