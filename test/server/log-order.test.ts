// Log chunks of one task in flight at once: a chunk that overtakes an earlier one still being received
// waits for it and is applied in order; without an earlier one under way, or past its wait budget or
// the limits, it is refused with 409 and the stored size as before. How long a chunk waits (the grace
// alone, the maximum while another request is under way, not at all past a limit) is checked on
// AppendOrder under a fake clock, to the millisecond and whatever the machine's load.
import { request } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppendOrder, type OrderLimits } from '../../src/server/store/log-order.js';
import { LogFiles } from '../../src/server/store/logs.js';
import { appendLog, call, queue, registerCode, reserve, runnerPath, startTestServer, type TestServer } from './helpers.js';

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
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: 'POST',
        headers: { authorization: `OAuth ${s.ctoken}`, 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
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
    const second = appendLog(s, id, t.reservation_id, 6, 'world\n');
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

  async function withLogs(fn: (logs: LogFiles, dir: string) => Promise<void>, limits: Partial<OrderLimits> = {}): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'iron-log-order-'));
    try {
      const logs = new LogFiles(dir, undefined, { maxWaitMs: 300, graceMs: 50, maxWaitingPerTask: 1, maxWaitingBytes: 1024, ...limits });
      await logs.init();
      await fn(logs, dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('refuses a gap after the grace when no earlier request is under way', async () => {
    // The maximum is an hour: a refusal that does not come from the grace cannot arrive in this test.
    await withLogs(
      async (logs) => {
        expect(await logs.append(task, writer, 0, [Buffer.from('ab')])).toEqual({ ok: true, size: 2, total: 2 });
        const release = logs.enter(task);
        const gap = logs.append(task, writer, 5, [Buffer.from('x')]);
        let timer: NodeJS.Timeout | undefined;
        const stuck = new Promise<'still waiting'>((r) => (timer = setTimeout(() => r('still waiting'), 30_000)));
        expect(await Promise.race([gap, stuck])).toEqual({ ok: false, size: 2, total: 2 });
        clearTimeout(timer);
        release();
      },
      { maxWaitMs: 3_600_000 },
    );
  });

  it('gives up after maxWaitMs while the earlier request never delivers, and honours the limits', async () => {
    await withLogs(async (logs, dir) => {
      const earlier = logs.enter(task);
      const a = logs.enter(task);
      const waiting = logs.append(task, writer, 3, [Buffer.from('def')]);
      // The task's one waiting slot is taken: a second chunk ahead is refused at once.
      // (That it is refused without waiting is checked on AppendOrder below.)
      const b = logs.enter(task);
      expect(await logs.append(task, writer, 6, [Buffer.from('g')])).toEqual({ ok: false, size: 0, total: 0 });
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

describe('AppendOrder wait budget (fake clock)', () => {
  const task = 'b'.repeat(24);
  const limits: OrderLimits = { maxWaitMs: 300, graceMs: 50, maxWaitingPerTask: 1, maxWaitingBytes: 1024 };
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Tracks whether `p` has resolved; the clock only moves through advance(). */
  function track<T>(p: Promise<T>): { readonly done: boolean; value: Promise<T> } {
    const t = { done: false, value: p };
    void p.then(() => (t.done = true));
    return t;
  }
  const advance = (ms: number): Promise<unknown> => vi.advanceTimersByTimeAsync(ms);

  it('a chunk alone waits the grace, not a millisecond less or more, then is refused', async () => {
    const order = new AppendOrder(limits);
    const self = order.enter(task);
    const budget = order.budget();
    const wait = track(order.waitForGap(task, 1, budget));
    await advance(limits.graceMs - 1);
    expect(wait.done).toBe(false);
    await advance(1);
    expect(wait.done).toBe(true);
    expect(await wait.value).toBe(true);
    // Its retry finds the grace spent: refused now, at the grace and far before the maximum.
    expect(await order.waitForGap(task, 1, budget)).toBe(false);
    self();
  });

  it('a chunk waits up to the maximum while another request of the task is under way', async () => {
    const order = new AppendOrder(limits);
    const earlier = order.enter(task);
    const self = order.enter(task);
    const budget = order.budget();
    const wait = track(order.waitForGap(task, 1, budget));
    await advance(limits.graceMs);
    expect(wait.done).toBe(false);
    await advance(limits.maxWaitMs - limits.graceMs - 1);
    expect(wait.done).toBe(false);
    await advance(1);
    expect(await wait.value).toBe(true);
    expect(await order.waitForGap(task, 1, budget)).toBe(false);
    self();
    earlier();
  });

  it('wakes a waiting chunk as soon as the task progresses, without the clock moving', async () => {
    const order = new AppendOrder(limits);
    const earlier = order.enter(task);
    const self = order.enter(task);
    const wait = track(order.waitForGap(task, 1, order.budget()));
    await advance(0);
    expect(wait.done).toBe(false);
    order.progressed(task);
    await advance(0);
    expect(await wait.value).toBe(true);
    self();
    earlier();
  });

  it('refuses at once, without the clock moving, past the waiting slots of a task or the bytes of all', async () => {
    const order = new AppendOrder(limits);
    const releases = [order.enter(task), order.enter(task), order.enter(task)];
    const first = track(order.waitForGap(task, 1, order.budget()));
    const second = track(order.waitForGap(task, 1, order.budget()));
    await advance(0);
    expect(second.done).toBe(true);
    expect(await second.value).toBe(false);
    expect(first.done).toBe(false);
    const other = 'c'.repeat(24);
    const release = order.enter(other);
    const big = track(order.waitForGap(other, limits.maxWaitingBytes, order.budget()));
    await advance(0);
    expect(await big.value).toBe(false);
    expect(big.done).toBe(true);
    await advance(limits.maxWaitMs);
    expect(await first.value).toBe(true);
    release();
    for (const r of releases) r();
  });
});
