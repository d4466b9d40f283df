// Bad input against a real iron-api: fast-check generated bodies, ids and headers on the v2 API and
// the runner protocol, plus hand-made HTTP abuse (oversized headers, invalid UTF-8, chunking, bodies on
// GET, trickled requests). Invariants: never a 5xx, every refusal a JSON {"msg"}, the server answers
// /healthz afterwards, and a rejected batch writes nothing.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../server/helpers.js';
import { httpBytes, rawRequest, type RawResponse } from './raw-http.js';

let s: TestServer;
let port = 0;
const tally = { requests: 0, s2xx: 0, s4xx: 0, s5xx: 0, noAnswer: 0, noMsg: 0 };
const problems: string[] = [];

beforeAll(async () => {
  s = await startTestServer({ maxBodyBytes: 256 * 1024 });
  port = Number(new URL(s.url).port);
  const reg = await send('POST', `/2/projects/${s.pid}/codes`, s.token, JSON.stringify({ name: 'fz', image: 'iron-test/busybox:1' }));
  expect(reg.status).toBe(200);
});

afterAll(async () => {
  console.log(`[security] fuzz-api: requests=${tally.requests} 2xx=${tally.s2xx} 4xx=${tally.s4xx} 5xx=${tally.s5xx} no_answer=${tally.noAnswer} 4xx_without_msg=${tally.noMsg} crashes=0`);
  await s?.close();
});

function record(what: string, r: RawResponse, allowNoAnswer = false): RawResponse {
  tally.requests++;
  if (r.status === 0) {
    tally.noAnswer++;
    if (!allowNoAnswer) problems.push(`no answer: ${what}`);
  } else if (r.status >= 500) {
    tally.s5xx++;
    problems.push(`${r.status}: ${what}: ${r.body.slice(0, 200)}`);
  } else if (r.status >= 400) {
    tally.s4xx++;
    let msg: unknown;
    try {
      msg = (JSON.parse(r.body) as { msg?: unknown }).msg;
    } catch {
      msg = undefined;
    }
    if (typeof msg !== 'string' || msg === '') {
      tally.noMsg++;
      problems.push(`${r.status} without msg: ${what}: ${JSON.stringify(r.body.slice(0, 100))}`);
    }
  } else tally.s2xx++;
  return r;
}

async function send(method: string, path: string, token: string | undefined, body?: Buffer | string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const h: Record<string, string> = { ...headers };
  if (token !== undefined) h['authorization'] = `OAuth ${token}`;
  if (body !== undefined && h['content-type'] === undefined) h['content-type'] = 'application/json';
  const r = await rawRequest(port, [httpBytes(method, path, h, body)]);
  return record(`${method} ${path.slice(0, 80)}`, r);
}

async function queuedCount(): Promise<number> {
  const r = await send('GET', `/2/clusters/${s.cid}/stats`, s.token);
  const c = (JSON.parse(r.body) as { cluster: Record<string, number> }).cluster;
  return Object.entries(c)
    .filter(([k]) => ['queued', 'running', 'complete', 'error', 'cancelled', 'timeout', 'killed', 'preparing'].includes(k))
    .reduce((a, [, v]) => a + v, 0);
}

const projectPosts = (pid: string): string[] => [
  `/2/projects/${pid}/tasks`,
  `/2/projects/${pid}/tasks/webhook?code_name=fz`,
  `/2/projects/${pid}/codes`,
  `/2/projects/${pid}/schedules`,
  `/2/projects/${pid}/credentials`,
  `/2/clusters`,
];
const runnerPosts = (cid: string): string[] => [
  `/2/clusters/${cid}/runner/reserve`,
  `/2/clusters/${cid}/runner/heartbeat`,
  `/2/clusters/${cid}/runner/release`,
  `/2/clusters/${cid}/runner/tasks/abcdefabcdefabcdefabcdef/start`,
  `/2/clusters/${cid}/runner/tasks/abcdefabcdefabcdefabcdef/finish`,
  `/2/clusters/${cid}/runner/tasks/abcdefabcdefabcdefabcdef/log?offset=0&reservation_id=abcdef`,
];

// Values of every JSON type, including the shapes the routes read (arrays of objects, maps).
const anyJson = fc.jsonValue({ maxDepth: 4 });
const fieldValue = fc.oneof(anyJson, fc.string({ unit: 'grapheme', maxLength: 50 }), fc.integer(), fc.double(), fc.constantFrom(-1, 0, 1e308, -1e308, 2 ** 53, '', 'null', '1e999'));
const TASK_FIELDS = [
  'code_name',
  'payload',
  'cluster',
  'priority',
  'timeout',
  'delay',
  'label',
  'env_vars',
  'name',
  'image',
  'command',
  'config',
  'max_concurrency',
  'retries',
  'retries_delay',
  'default_priority',
  'run_every',
  'run_times',
  'start_at',
  'end_at',
  'auth',
  'username',
  'password',
  'memory',
  'disk_space',
  'cpu_share',
  'autoscale',
  'instance_id',
  'n',
  'wait',
  'tasks',
  'reservation_id',
  'status',
  'exit_code',
  'msg',
  'duration_ms',
  'log_size',
];
const knownFieldObject = fc.dictionary(fc.constantFrom(...TASK_FIELDS), fieldValue, { maxKeys: 8 });
const body = fc.oneof(
  anyJson.map((v) => JSON.stringify(v)),
  knownFieldObject.map((o) => JSON.stringify(o)),
  fc.array(knownFieldObject, { maxLength: 5 }).map((tasks) => JSON.stringify({ tasks })),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString('latin1')),
);

describe('fuzzed bodies', () => {
  it('v2 API POSTs with random and wrongly typed JSON: no 5xx, refusals carry a msg', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...projectPosts(s.pid)), body, async (path, b) => {
        const r = await send('POST', path, s.token, b);
        return r.status !== 0 && r.status < 500;
      }),
      { numRuns: 600 },
    );
    expect(problems.splice(0)).toEqual([]);
  }, 60_000);

  it('runner protocol POSTs with random JSON and raw log bytes: no 5xx, refusals carry a msg', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...runnerPosts(s.cid)), body, async (path, b) => {
        const r = await send('POST', path, s.ctoken, b);
        return r.status !== 0 && r.status < 500;
      }),
      { numRuns: 600 },
    );
    const offsets = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('-1', '1e3', '99999999999999999999999', '0x10', ' 1', '1.5', '%00'));
    await fc.assert(
      fc.asyncProperty(offsets, async (off) => {
        const r = await send('POST', `/2/clusters/${s.cid}/runner/tasks/abcdefabcdefabcdefabcdef/log?offset=${encodeURIComponent(off)}&reservation_id=abcdef`, s.ctoken, 'x', {
          'content-type': 'application/octet-stream',
        });
        return r.status >= 400 && r.status < 500;
      }),
      { numRuns: 150 },
    );
    expect(problems.splice(0)).toEqual([]);
  }, 60_000);

  it('deeply nested and oversized JSON is refused with a msg', async () => {
    const depth = 100_000;
    for (const path of [...projectPosts(s.pid), ...runnerPosts(s.cid)]) {
      const arr = await send('POST', path, path.includes('/runner/') ? s.ctoken : s.token, `${'['.repeat(depth)}${']'.repeat(depth)}`);
      expect(arr.status).toBeGreaterThanOrEqual(400);
      const obj = await send('POST', path, path.includes('/runner/') ? s.ctoken : s.token, `${'{"a":'.repeat(depth / 5)}1${'}'.repeat(depth / 5)}`);
      expect(obj.status).toBeGreaterThanOrEqual(400);
      const big = await send('POST', path, path.includes('/runner/') ? s.ctoken : s.token, JSON.stringify({ payload: 'x'.repeat(300 * 1024) }));
      // 413, or 404 where the route refuses the (dummy) task before it reads the body.
      expect([413, 404]).toContain(big.status);
    }
    // Nesting inside fields the API stores (autoscale, env_vars, a task payload).
    // Built as text: the test's own JSON.stringify would overflow its stack on such depth.
    const nested = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    for (const [path, b] of [
      ['/2/clusters', `{"name":"deep","autoscale":${nested}}`],
      [`/2/projects/${s.pid}/codes`, `{"name":"deep","image":"x","env_vars":${nested}}`],
      [`/2/projects/${s.pid}/tasks`, `{"tasks":[{"code_name":"fz","payload":${nested}}]}`],
    ] as const) {
      const r = await send('POST', path, s.token, b);
      expect(r.status).toBeLessThan(500);
    }
    expect(problems.splice(0)).toEqual([]);
  }, 60_000);
});

describe('ids, paths and headers', () => {
  it('unicode, traversal and encoding tricks in ids: 4xx with a msg, never a 5xx', async () => {
    const tricks = fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map((x) => encodeURIComponent(x)),
      fc.constantFrom(
        '..',
        '%2e%2e',
        '..%2f..%2fetc%2fpasswd',
        '%00',
        '%ff%fe',
        '%',
        '%zz',
        'ABCDEFABCDEFABCDEFABCDEF',
        `${'a'.repeat(23)}%C3%A9`,
        'abcdefabcdefabcdefabcde\u0301'
          .normalize('NFD')
          .split('')
          .map((c) => encodeURIComponent(c))
          .join(''),
        '%E2%80%AE',
        'a'.repeat(5000),
        '*',
        '~',
        '%20',
      ),
    );
    const shapes = (id: string): Array<[string, string, string]> => [
      ['GET', `/2/projects/${id}`, s.token],
      ['GET', `/2/projects/${s.pid}/tasks/${id}`, s.token],
      ['GET', `/2/projects/${s.pid}/codes/${id}/download`, s.token],
      ['POST', `/2/projects/${s.pid}/tasks/${id}/cancel`, s.token],
      ['GET', `/2/clusters/${id}`, s.token],
      ['POST', `/2/clusters/${id}/runner/reserve`, s.ctoken],
      ['POST', `/2/clusters/${s.cid}/runner/tasks/${id}/finish`, s.ctoken],
    ];
    await fc.assert(
      fc.asyncProperty(tricks, fc.nat(6), async (id, k) => {
        const [method, path, token] = shapes(id)[k] ?? ['GET', '/', s.token];
        const r = await send(method, path, token, method === 'POST' ? '{}' : undefined);
        // `..` segments are resolved like any URL (to another route, still behind its own auth check).
        return r.status !== 0 && r.status < 500;
      }),
      { numRuns: 400 },
    );
    expect(problems.splice(0)).toEqual([]);
  }, 60_000);

  it('huge headers, many headers, junk request lines: refused with a msg', async () => {
    const cases: Array<[string, Buffer]> = [
      ['64 KiB header', httpBytes('GET', '/healthz', { 'x-big': 'a'.repeat(64 * 1024) })],
      ['2000 headers', httpBytes('GET', '/healthz', Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`x-h${i}`, 'v'])))],
      ['64 KiB token', httpBytes('GET', `/2/projects/${s.pid}`, { authorization: `OAuth ${'t'.repeat(64 * 1024)}` })],
      ['64 KiB url', httpBytes('GET', `/2/projects/${s.pid}?x=${'q'.repeat(64 * 1024)}`, {})],
      ['junk request line', Buffer.from('\u0000\u0001GARBAGE\r\n\r\n', 'latin1')],
      ['bad header line', Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n')],
      [
        'bad chunk size',
        Buffer.from(
          `POST /2/projects/${s.pid}/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: OAuth ${s.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
        ),
      ],
      ['CL and TE together', Buffer.from(`POST /2/projects/${s.pid}/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`)],
    ];
    const lines: string[] = [];
    for (const [what, bytes] of cases) {
      const r = record(what, await rawRequest(port, [bytes]));
      lines.push(`${what}=${r.status}`);
      expect(r.status, what).toBeGreaterThanOrEqual(400);
      expect(r.status, what).toBeLessThan(500);
    }
    console.log(`[security] fuzz-api header abuse: ${lines.join(' ')}`);
    expect(problems.splice(0)).toEqual([]);
  }, 60_000);

  it('invalid UTF-8, bodies on GET, chunked and trickled bodies are handled', async () => {
    const invalidUtf8 = Buffer.concat([Buffer.from('{"tasks":[{"code_name":"fz","payload":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('"}]}')]);
    const r1 = await send('POST', `/2/projects/${s.pid}/tasks`, s.token, invalidUtf8);
    expect(r1.status).toBeLessThan(500);
    const r2 = await send('GET', `/2/projects/${s.pid}/tasks`, s.token, '{"garbage": [1,2,3]}');
    expect(r2.status).toBe(200);
    const r3 = await send('GET', `/2/projects/${s.pid}`, s.token, Buffer.alloc(200 * 1024, 'x'), { 'content-type': 'text/plain' });
    expect(r3.status).toBe(200);
    const chunkedBody = ['{"tasks":[{"code_', 'name":"fz","payload":"chunked"}]}'];
    const chunked = Buffer.concat([
      httpBytes('POST', `/2/projects/${s.pid}/tasks`, { authorization: `OAuth ${s.token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }),
      ...chunkedBody.map((c) => Buffer.from(`${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`)),
      Buffer.from('0\r\n\r\n'),
    ]);
    expect(record('chunked', await rawRequest(port, [chunked])).status).toBe(200);
    // A client that dribbles its request over ~2 s (well within the server's header timeout).
    const slow = httpBytes('POST', `/2/projects/${s.pid}/tasks`, { authorization: `OAuth ${s.token}`, 'content-type': 'application/json' }, '{"tasks":[{"code_name":"fz","payload":"slow"}]}');
    const pieces = Array.from({ length: 40 }, (_, i) => slow.subarray(Math.floor((i * slow.length) / 40), Math.floor(((i + 1) * slow.length) / 40)));
    expect(record('trickled', await rawRequest(port, pieces, { gapMs: 50, timeoutMs: 20_000 })).status).toBe(200);
    // A chunked body over the limit is cut off while streaming, not buffered.
    const hugeChunked = [
      httpBytes('POST', `/2/projects/${s.pid}/tasks`, { authorization: `OAuth ${s.token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }),
      ...Array.from({ length: 40 }, () => Buffer.from(`10000\r\n${'x'.repeat(0x10000)}\r\n`)),
      Buffer.from('0\r\n\r\n'),
    ];
    expect(record('huge chunked', await rawRequest(port, hugeChunked), true).status).toBe(413);
    expect(problems.splice(0)).toEqual([]);
  }, 60_000);
});

describe('nothing half-written', () => {
  it('a batch with one bad task queues none of them', async () => {
    const before = await queuedCount();
    const bads: unknown[] = [
      { code_name: 'no-such-code' },
      { code_name: 'fz', priority: 'high' },
      { code_name: 'fz', payload: 5 },
      { code_name: 'fz', timeout: 'x' },
      { code_name: 'fz', payload: 'x'.repeat(70 * 1024) },
      { code_name: 'fz', delay: -1 },
      'not an object',
      null,
    ];
    let rejected = 0;
    for (const bad of bads) {
      const tasks = [...Array.from({ length: 50 }, (_, i) => ({ code_name: 'fz', payload: `ok${i}` })), bad];
      const r = await send('POST', `/2/projects/${s.pid}/tasks`, s.token, JSON.stringify({ tasks }));
      if (r.status >= 400) rejected++;
      expect(r.status, JSON.stringify(bad).slice(0, 40)).toBeGreaterThanOrEqual(400);
    }
    expect(await queuedCount()).toBe(before);
    console.log(`[security] fuzz-api batches: rejected=${rejected}/${bads.length} tasks_written=${(await queuedCount()) - before}`);
  });

  it('the server is still healthy afterwards', async () => {
    const r = await send('GET', '/healthz', undefined);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ status: 'ok' });
  });
});
