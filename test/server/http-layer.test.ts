// iron-api's HTTP layer on fastify, through inject(): the statuses and `{"msg"}` bodies of what no
// handler answers (404, 405, bad URLs), HEAD by the GET handler, errors that hide internals, schema
// validation mapped to our 400, and the request log line and listening event.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverConfig } from '../../src/config/server.js';
import { createApp } from '../../src/server/app.js';
import { HANDLED, type Deps, type Handler } from '../../src/server/context.js';
import { Router } from '../../src/server/http/router.js';
import { createServices, type Services } from '../../src/server/services/services.js';
import { startServer } from '../../src/server/start.js';
import { LogFiles } from '../../src/server/store/logs.js';
import { openSqliteStore } from '../../src/server/store/sqlite/index.js';
import { captureLog } from '../helpers/log-capture.js';
import { startTestServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.close();
});

const auth = (token: string): Record<string, string> => ({ authorization: `OAuth ${token}` });

/** A logger at `level` whose JSON lines land in `lines`. */
describe('routing through fastify', () => {
  it('answers an unknown path 404 {"msg"} as JSON, never cached', async () => {
    const res = await s.handle.inject({ method: 'GET', url: '/2/nothing/here' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ msg: 'Invalid endpoint' });
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('answers a known path with another method 405, before auth', async () => {
    const res = await s.handle.inject({ method: 'PATCH', url: `/2/projects/${s.pid}/tasks` });
    expect(res.statusCode).toBe(405);
    expect(res.json()).toEqual({ msg: 'method PATCH is not allowed here' });
    // A method fastify does not route by default is a 405 too, as with the old router.
    expect((await s.handle.inject({ method: 'PROPFIND', url: '/healthz' })).statusCode).toBe(405);
    expect((await s.handle.inject({ method: 'HEAD', url: `/2/clusters/${s.cid}/runner/reserve` })).statusCode).toBe(405);
  });

  it('serves a literal segment by the param route of another method (GET /tasks/webhook is GET /tasks/:id)', async () => {
    const res = await s.handle.inject({ method: 'GET', url: `/2/projects/${s.pid}/tasks/webhook`, headers: auth(s.token) });
    expect(res.statusCode).toBe(404);
    expect(res.json<{ msg: string }>().msg).toMatch(/is not a task id/);
  });

  it('serves HEAD by the GET handler: the GET headers, no body', async () => {
    const get = await s.handle.inject({ method: 'GET', url: '/healthz' });
    const head = await s.handle.inject({ method: 'HEAD', url: '/healthz' });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('matches paths with duplicate and trailing slashes, and maps a broken percent-encoding to 404', async () => {
    expect((await s.handle.inject({ method: 'GET', url: '//healthz/' })).json()).toEqual({ status: 'ok' });
    const bad = await s.handle.inject({ method: 'GET', url: `/2/projects/%zz/tasks` });
    expect(bad.statusCode).toBe(404);
    expect(bad.json()).toEqual({ msg: 'Invalid endpoint' });
  });

  it('reads bodies in the handler: auth first, then the Content-Type rule, whatever the header holds', async () => {
    const url = `/2/projects/${s.pid}/tasks`;
    const junk = { 'content-type': 'not a media type' };
    expect((await s.handle.inject({ method: 'POST', url, headers: junk, payload: '{}' })).statusCode).toBe(401);
    const refused = await s.handle.inject({ method: 'POST', url, headers: { ...junk, ...auth(s.token) }, payload: '{"tasks":[]}' });
    expect(refused.statusCode).toBe(406);
    expect(refused.json()).toEqual({ msg: 'Content-Type must be application/json' });
  });
});

describe('an app with routes of its own', () => {
  let dir: string;
  let deps: Deps;
  let services: Services;
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iron-http-layer-'));
    const config = serverConfig({ port: 0, dataDir: dir });
    const log = captureLog(lines, 'debug');
    const store = openSqliteStore(dir);
    const logs = new LogFiles(dir, config.maxLogBytes);
    await logs.init();
    services = createServices({ config, store, logs, log });
    deps = { config, services, metrics: services.metrics, log, closing: new AbortController().signal };
  });
  afterAll(async () => {
    await services?.close();
    await rm(dir, { recursive: true, force: true });
  });

  function app(): ReturnType<typeof createApp> {
    const r = new Router<Handler>();
    r.add('POST', '/things/:id', async (ctx) => ({ id: ctx.param('id'), body: await ctx.json() }), {
      schema: {
        body: { type: 'object', required: ['n'], properties: { n: { type: 'integer', maximum: 10 } } },
        querystring: { type: 'object', properties: { q: { type: 'string', pattern: '^[a-z]+$' } } },
      },
    });
    r.add('GET', '/boom', () => Promise.reject(new Error('disk /secret/path is full')));
    r.add('GET', '/raw', (ctx) => {
      ctx.res.writeHead(200, { 'content-type': 'text/plain' });
      ctx.res.end('raw answer');
      return Promise.resolve(HANDLED);
    });
    return createApp(deps, r);
  }

  it('validates the body with the route schema: 400 ERR_SERVER_BAD_REQUEST {"msg"}, input never coerced', async () => {
    const a = app();
    const post = (payload: unknown, url = '/things/7') => a.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
    const ok = await post({ n: 3, extra: true });
    expect(ok.statusCode).toBe(200);
    // Nothing removed or filled in by the validator: the handler reads what the client sent.
    expect(ok.json()).toEqual({ id: '7', body: { n: 3, extra: true } });
    const missing = await post({});
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toEqual({ msg: "invalid request: body must have required property 'n'" });
    expect((await post({ n: 11 })).json()).toEqual({ msg: 'invalid request: body/n must be <= 10' });
    // fastify's default ajv would turn "5" into 5; ours refuses it.
    expect((await post({ n: '5' })).statusCode).toBe(400);
    await a.close();
  });

  it('validates the query string before the handler, with the same 400 body', async () => {
    const a = app();
    const res = await a.inject({ method: 'POST', url: '/things/7?q=NOT-LOWER', headers: { 'content-type': 'application/json' }, payload: '{"n":1}' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ msg: 'invalid request: querystring/q must match pattern "^[a-z]+$"' });
    await a.close();
  });

  it('answers a handler failure 500 without its message, and logs it with the route', async () => {
    const a = app();
    const res = await a.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ msg: 'Internal server error' });
    expect(res.body).not.toContain('secret');
    const failed = lines.find((l) => l['msg'] === 'request failed');
    expect(failed).toMatchObject({ method: 'GET', route: '/boom' });
    await a.close();
  });

  it('leaves the answer to a handler that wrote it itself, and logs every request at debug with its route', async () => {
    const a = app();
    const res = await a.inject({ method: 'GET', url: '/raw' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('raw answer');
    await a.inject({ method: 'GET', url: '/missing' });
    const requests = lines.filter((l) => l['msg'] === 'request');
    expect(requests).toContainEqual(expect.objectContaining({ level: 'debug', method: 'GET', route: '/raw', status: 200 }));
    expect(requests).toContainEqual(expect.objectContaining({ level: 'debug', method: 'GET', route: 'unmatched', status: 404 }));
    expect(requests.every((l) => typeof l['ms'] === 'number')).toBe(true);
    await a.close();
  });
});

it('logs the listening line with the stable event field, its url and port', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'iron-http-listen-'));
  const lines: Array<Record<string, unknown>> = [];
  const handle = await startServer({ config: serverConfig({ port: 0, dataDir: dir }), log: captureLog(lines, 'info') });
  try {
    const line = lines.find((l) => l['event'] === 'server.listening');
    expect(line).toMatchObject({ msg: 'iron-api listening', url: handle.url, port: handle.port });
  } finally {
    await handle.close();
    await rm(dir, { recursive: true, force: true });
  }
});
