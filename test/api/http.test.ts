import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient, type RetryPolicy } from '../../src/api/index.js';
import { IronError, isIronError } from '../../src/errors.js';
import { freePort } from '../helpers/ports.js';
import { json, startFakeServer, type FakeServer } from './fake-server.js';

const TOKEN = 'tok-secret-4f9a';
const FAST: RetryPolicy = { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20 };
const servers: FakeServer[] = [];
const clients: HttpClient[] = [];

async function setup(handler: FakeServer['handler'], opts: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}): Promise<{ s: FakeServer; c: HttpClient }> {
  const s = await startFakeServer(handler);
  servers.push(s);
  const c = new HttpClient({ baseUrl: s.url, token: TOKEN, retry: FAST, ...opts });
  clients.push(c);
  return { s, c };
}

async function failure(p: Promise<unknown>): Promise<IronError> {
  try {
    await p;
  } catch (err) {
    if (isIronError(err)) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('HttpClient', () => {
  it('sends the OAuth header and a JSON body, and parses JSON answers', async () => {
    const { s, c } = await setup((_req, res) => json(res, 200, { ok: 1 }));
    const out = await c.json<{ ok: number }>({ method: 'POST', path: '/2/x', json: { a: 1 } }, AbortSignal.timeout(5000));
    expect(out).toEqual({ ok: 1 });
    const req = s.seen[0];
    expect(req?.headers.authorization).toBe(`OAuth ${TOKEN}`);
    expect(req?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req?.body.toString() ?? '')).toEqual({ a: 1 });
  });

  it('retries 503 and 5xx for idempotent calls until success', async () => {
    const { s, c } = await setup((_req, res, n) => (n < 3 ? json(res, n === 1 ? 503 : 502, { msg: 'busy' }) : json(res, 200, { n })));
    expect(await c.json({ method: 'GET', path: '/2/y' }, AbortSignal.timeout(5000))).toEqual({ n: 3 });
    expect(s.seen).toHaveLength(3);
  });

  it('gives up after the policy and reports ERR_API_UNAVAILABLE (retryable)', async () => {
    const { s, c } = await setup((_req, res) => json(res, 503, { msg: 'down' }));
    const err = await failure(c.json({ method: 'GET', path: '/2/y' }, AbortSignal.timeout(5000)));
    expect(err.code).toBe('ERR_API_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(s.seen).toHaveLength(FAST.maxAttempts);
  });

  it.each([
    [400, 'ERR_API_BAD_REQUEST'],
    [401, 'ERR_API_UNAUTHORIZED'],
    [403, 'ERR_API_FORBIDDEN'],
    [404, 'ERR_API_NOT_FOUND'],
    [405, 'ERR_API_RESPONSE'],
    [409, 'ERR_API_CONFLICT'],
  ] as const)('does not retry HTTP %i and maps it to %s', async (status, code) => {
    const { s, c } = await setup((_req, res) => json(res, status, { msg: 'nope', size: 42 }));
    const err = await failure(c.json({ method: 'GET', path: '/2/z' }, AbortSignal.timeout(5000)));
    expect(err.code).toBe(code);
    expect(err.message).toContain('nope');
    expect(err.details.status).toBe(status);
    expect(err.details.size).toBe(42);
    expect(s.seen).toHaveLength(1);
  });

  it('retries a non-idempotent call on 503 but not on 500 (the server may have acted)', async () => {
    const a = await setup((_req, res, n) => (n === 1 ? json(res, 503, {}) : json(res, 200, { ok: true })));
    await a.c.json({ method: 'POST', path: '/2/q', json: {}, idempotent: false }, AbortSignal.timeout(5000));
    expect(a.s.seen).toHaveLength(2);
    const b = await setup((_req, res) => json(res, 500, { msg: 'oops' }));
    const err = await failure(b.c.json({ method: 'POST', path: '/2/q', json: {}, idempotent: false }, AbortSignal.timeout(5000)));
    expect(err.code).toBe('ERR_API_UNAVAILABLE');
    expect(b.s.seen).toHaveLength(1);
  });

  it('reports a refused connection as ERR_API_NETWORK without the token', async () => {
    // A port nothing listens on (free a moment ago): the connection is refused.
    const port = await freePort();
    const c = new HttpClient({ baseUrl: `http://127.0.0.1:${port}`, token: TOKEN, retry: FAST });
    clients.push(c);
    const err = await failure(c.json({ method: 'GET', path: '/2/p' }, AbortSignal.timeout(5000)));
    expect(err.code).toBe('ERR_API_NETWORK');
    expect(err.details.reason).toBe('ECONNREFUSED');
    expect(JSON.stringify(err.toJSON()) + err.message + String(err.stack)).not.toContain(TOKEN);
  });

  it('keeps retrying with an unlimited policy until the API comes back', async () => {
    const { s, c } = await setup((_req, res, n) => (n <= 6 ? json(res, 503, {}) : json(res, 200, { delivered: true })));
    const out = await c.json({ method: 'POST', path: '/2/f', json: {}, retry: { maxAttempts: Infinity, baseDelayMs: 5, maxDelayMs: 20 } }, AbortSignal.timeout(10_000));
    expect(out).toEqual({ delivered: true });
    expect(s.seen.length).toBe(7);
  });

  it('honours Retry-After as a minimum wait (capped by the policy)', async () => {
    const { s, c } = await setup((_req, res, n) => (n === 1 ? json(res, 503, {}, { 'retry-after': '1' }) : json(res, 200, {})));
    const started = Date.now();
    await c.json({ method: 'GET', path: '/2/r', retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2000 } }, AbortSignal.timeout(10_000));
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(s.seen).toHaveLength(2);
  });

  it('aborts a hanging call promptly with ERR_ABORTED', async () => {
    const { c } = await setup(() => undefined);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const started = Date.now();
    const err = await failure(c.json({ method: 'GET', path: '/2/hang' }, ac.signal));
    expect(err.code).toBe('ERR_ABORTED');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('aborts during the backoff sleep too', async () => {
    const { c } = await setup((_req, res) => json(res, 503, {}));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    const err = await failure(c.json({ method: 'GET', path: '/2/s', retry: { maxAttempts: Infinity, baseDelayMs: 10_000, maxDelayMs: 10_000 } }, ac.signal));
    expect(err.code).toBe('ERR_ABORTED');
  });

  it('turns a headers timeout into a retryable ERR_API_NETWORK', async () => {
    const { s, c } = await setup(() => undefined, { headersTimeoutMs: 200, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    const err = await failure(c.json({ method: 'GET', path: '/2/slow' }, AbortSignal.timeout(10_000)));
    expect(err.code).toBe('ERR_API_NETWORK');
    expect(err.details.reason).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(s.seen).toHaveLength(2);
  });

  it('rejects invalid JSON answers with ERR_API_RESPONSE', async () => {
    const { c } = await setup((_req, res) => {
      res.writeHead(200);
      res.end('<html>');
    });
    expect((await failure(c.json({ method: 'GET', path: '/2/h' }, AbortSignal.timeout(5000)))).code).toBe('ERR_API_RESPONSE');
  });

  it('keeps a base path prefix and encodes the query', async () => {
    const s = await startFakeServer((_req, res) => json(res, 200, {}));
    servers.push(s);
    const c = new HttpClient({ baseUrl: `${s.url}/iron/`, token: TOKEN });
    clients.push(c);
    await c.json({ method: 'GET', path: '/2/t', query: { a: 'x y', b: undefined, c: 1 } }, AbortSignal.timeout(5000));
    expect(s.seen[0]?.url).toBe('/iron/2/t?a=x+y&c=1');
  });

  it('close() is idempotent and later calls fail cleanly', async () => {
    const { c } = await setup((_req, res) => json(res, 200, {}));
    await Promise.all([c.close(), c.close()]);
    expect((await failure(c.json({ method: 'GET', path: '/2/a' }, AbortSignal.timeout(5000)))).code).toBe('ERR_ABORTED');
  });
});
