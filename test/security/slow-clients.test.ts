// Issue 13 item 6: slow or idle clients cannot exhaust iron-api's connections. An unauthenticated
// body is not drained after its 401 (the socket is closed), stalled headers and idle sockets are
// closed past the connection cap (oldest idle first), a silent body gets 408, and /healthz keeps
// answering throughout; a parked reserve is never cut by these limits.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, reserve, startTestServer, type TestServer } from '../server/helpers.js';
import { httpBytes, rawRequest } from './raw-http.js';

let s: TestServer;
let port = 0;
const CAP = 64;

beforeAll(async () => {
  s = await startTestServer({ maxConnections: CAP, bodyIdleMs: 500 });
  port = s.handle.port;
});
afterAll(async () => s?.close());

/** Health checks on fresh connections while `attack` runs; returns the slowest and the failures. */
async function healthDuring(attack: Promise<unknown>): Promise<{ worstMs: number; failed: number; checks: number }> {
  let done = false;
  void attack.finally(() => (done = true)).catch(() => undefined);
  let worstMs = 0;
  let failed = 0;
  let checks = 0;
  while (!done) {
    const t0 = Date.now();
    const r = await rawRequest(port, [httpBytes('GET', '/healthz', {})], { timeoutMs: 10_000 }).catch(() => ({ status: 0 }));
    worstMs = Math.max(worstMs, Date.now() - t0);
    checks++;
    if (r.status !== 200) failed++;
    await new Promise((res) => setTimeout(res, 100));
  }
  await attack;
  return { worstMs, failed, checks };
}

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => resolve(sock));
    sock.on('error', () => undefined);
    sock.once('error', reject);
  });
}

/** Resolves with the status line the server sent (or '' ) once it closed the socket; rejects after ms. */
function closedWithin(sock: Socket, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    sock.on('data', (c: Buffer) => (text += c.toString('latin1')));
    const t = setTimeout(() => reject(new Error(`server kept the socket open for ${ms} ms`)), ms);
    sock.once('close', () => {
      clearTimeout(t);
      resolve(text.split('\r\n')[0] ?? '');
    });
  });
}

describe('slow and idle clients', () => {
  it('closes unauthenticated slow bodies right after the 401 while /healthz answers', async () => {
    // 100 clients, each one slow body after another for 3 s: every one must be closed by the server.
    const until = Date.now() + 3_000;
    const worker = async (): Promise<string[]> => {
      const lines: string[] = [];
      while (Date.now() < until) {
        const sock = await open();
        sock.write(`POST /2/projects/${s.pid}/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{`);
        const trickle = setInterval(() => sock.writable && sock.write('x'), 100);
        try {
          lines.push(await closedWithin(sock, 5_000));
        } finally {
          clearInterval(trickle);
          sock.destroy();
        }
      }
      return lines;
    };
    const attack = Promise.all(Array.from({ length: 100 }, worker)).then((all) => all.flat());
    const health = await healthDuring(attack);
    const lines = await attack;
    console.log(
      `[security] slow unauthenticated bodies: ${lines.length} closed, statuses ${[...new Set(lines)].join(' | ')}; healthz checks=${health.checks} failed=${health.failed} worst=${health.worstMs} ms`,
    );
    expect(lines.every((l) => l.includes(' 401 '))).toBe(true);
    expect(health.failed).toBe(0);
    expect(health.worstMs).toBeLessThan(5_000);
  });

  it('past the connection cap closes the oldest idle sockets, never a parked reserve', async () => {
    const parked = reserve(s, 1, 4, 'parked-runner');
    await new Promise((r) => setTimeout(r, 200));
    const stalled: Socket[] = [];
    const attack = (async () => {
      for (let i = 0; i < 300; i++) {
        const sock = await open();
        sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
        stalled.push(sock);
      }
      await new Promise((r) => setTimeout(r, 500));
    })();
    const health = await healthDuring(attack);
    const stillOpen = stalled.filter((x) => !x.destroyed && x.readyState === 'open').length;
    await new Promise((r) => setTimeout(r, 200));
    const open2 = stalled.filter((x) => !x.destroyed && !x.readableEnded).length;
    stalled.forEach((x) => x.destroy());
    console.log(`[security] 300 stalled-header sockets, cap ${CAP}: ${open2} left open; healthz checks=${health.checks} failed=${health.failed} worst=${health.worstMs} ms`);
    expect(Math.min(stillOpen, open2)).toBeLessThanOrEqual(CAP);
    expect(health.failed).toBe(0);
    expect(health.worstMs).toBeLessThan(5_000);
    expect(await parked).toEqual([]);
  });

  it('answers 408 to a body that stops arriving, and keeps a long-poll past the request timeout', async () => {
    const sock = await open();
    sock.write(`POST /2/projects/${s.pid}/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: OAuth ${s.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"tasks":`);
    expect(await closedWithin(sock, 5_000)).toContain(' 408 ');
    const short = await startTestServer({ requestTimeoutMs: 1000 });
    try {
      const t0 = Date.now();
      const r = await call(short.url, 'POST', `/2/clusters/${short.cid}/runner/reserve`, { token: short.ctoken, json: { instance_id: 'i', n: 1, wait: 3 } });
      expect(r.status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2_500);
    } finally {
      await short.close();
    }
  });
});
