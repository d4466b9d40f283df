// The engine client against a fake engine socket (test/helpers/fake-engine.ts), for every kind of
// engine call: it never follows a redirect (issue 13 item 2: the 301 for `a/../../HOST:PORT` made
// the runner host itself call HOST:PORT), a connection cut before or in the middle of a response is a
// typed error and never an uncaught `error` event, a hung engine (accepts, never answers) fails each
// call at its deadline, the long streams are ended by the /_ping liveness probe (issue 16), and a
// container's create body (Env included) never goes into the URL (issue 13 item 13).
import { createServer, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isIronError } from '../../src/errors.js';
import { createDockerEngine, type ContainerEngine } from '../../src/sandbox/index.js';
import type { ContainerCreateBody } from '../../src/sandbox/engine.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engine.js';

let fake: FakeEngine;
let bystander: Server;
let bystanderPort = 0;
let bystanderHits = 0;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown): void => {
  uncaught.push(err);
};

beforeAll(async () => {
  fake = await startFakeEngine();
  // The service on the runner host a redirect would point at: it must never see a connection.
  bystander = createServer((c) => {
    bystanderHits++;
    c.destroy();
  });
  await new Promise<void>((r) => bystander.listen(0, '127.0.0.1', r));
  bystanderPort = (bystander.address() as { port: number }).port;
  process.on('uncaughtException', onUncaught);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  await fake.close();
  await new Promise<void>((r) => bystander.close(() => r()));
});
afterEach(() => {
  expect(uncaught).toEqual([]);
});

const engine = (callTimeoutMs = 5_000): ContainerEngine => createDockerEngine({ socketPath: fake.socket, callTimeoutMs, liveness: { intervalMs: 100, timeoutMs: 200, failures: 2 } });

const createBody: ContainerCreateBody = {
  name: 'job-1',
  Image: 'iron-test/busybox:1',
  Env: ['API_TOKEN=s3cr3t-canary-value', 'A=1'],
  Labels: { a: 'b' },
  AttachStdout: true,
  AttachStderr: true,
  AttachStdin: false,
  OpenStdin: false,
  Tty: false,
  HostConfig: {
    Init: true,
    Memory: 64 << 20,
    MemorySwap: 64 << 20,
    PidsLimit: 64,
    ReadonlyRootfs: false,
    NetworkMode: 'none',
    SecurityOpt: [],
    CapDrop: ['ALL'],
    CapAdd: [],
    Privileged: false,
    LogConfig: { Type: 'none', Config: {} },
    AutoRemove: false,
  },
};

async function drain(s: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of s) {
    // read to the end
  }
}

/** One of each kind of call: plain JSON, POST with a body, upload, download, and the long streams. */
const OPS: Array<[string, (e: ContainerEngine, s: AbortSignal) => Promise<unknown>]> = [
  ['ping', (e, s) => e.ping(s)],
  ['info', (e, s) => e.info(s)],
  ['image inspect', (e, s) => e.imageInspect('busybox:1', s)],
  ['image pull', (e, s) => e.imagePull('busybox:1', { username: 'u', password: 'p' }, s)],
  ['image remove', (e, s) => e.imageRemove('busybox:1', s)],
  ['container create', (e, s) => e.containerCreate(createBody, s)],
  ['container attach', async (e, s) => drain(await e.containerAttach('abc', s))],
  ['container put archive', (e, s) => e.containerPutArchive('abc', '/task', Buffer.alloc(4096), s)],
  ['container get archive', (e, s) => e.containerGetArchive('abc', '/task', 1 << 20, s)],
  ['container start', (e, s) => e.containerStart('abc', s)],
  ['container wait', (e, s) => e.containerWait('abc', s)],
  ['container inspect', (e, s) => e.containerInspect('abc', s)],
  ['container events', (e, s) => e.containerEvents('abc', 0, 1, s)],
  ['container kill', (e, s) => e.containerKill('abc', 'SIGKILL', s)],
  ['container remove', (e, s) => e.containerRemove('abc', s)],
  ['container list', (e, s) => e.containerList(['a=b'], s)],
  ['volume create', (e, s) => e.volumeCreate('v', {}, s)],
  ['volume remove', (e, s) => e.volumeRemove('v', s)],
  ['volume list', (e, s) => e.volumeList(['a=b'], s)],
  ['network inspect', (e, s) => e.networkInspect('n', s)],
  ['network create', (e, s) => e.networkCreate('n', 'br-n', {}, s)],
  ['network remove', (e, s) => e.networkRemove('n', s)],
  ['network list', (e, s) => e.networkList(['a=b'], s)],
];

describe('engine client against a hostile or broken engine', () => {
  it.each(OPS)('%s: a 301 is an error, never followed to the Location', async (_op, run) => {
    fake.handle((_req, res) => {
      res.writeHead(301, { location: `http://127.0.0.1:${bystanderPort}/internal`, 'content-type': 'text/html' });
      res.end('<a href="/internal">Moved Permanently</a>');
    });
    const err = await run(engine(), AbortSignal.timeout(10_000)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isIronError(err, 'ERR_ENGINE_FAILED'), String(err)).toBe(true);
    expect(isIronError(err) && err.details['status']).toBe(301);
    await new Promise((r) => setTimeout(r, 50));
    expect(bystanderHits).toBe(0);
  });

  it.each(OPS)('%s: a connection cut before the answer is ERR_ENGINE_UNAVAILABLE', async (_op, run) => {
    fake.handle((req) => req.socket.destroy());
    const err = await run(engine(), AbortSignal.timeout(10_000)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isIronError(err, 'ERR_ENGINE_UNAVAILABLE'), String(err)).toBe(true);
  });

  it.each(OPS)('%s: a connection cut in the middle of the answer fails the call, nothing uncaught', async (_op, run) => {
    fake.handle((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.write('{"Id":"ab');
      setTimeout(() => req.socket.destroy(), 30);
    });
    const err = await run(engine(), AbortSignal.timeout(10_000)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, 'the call must fail').toBeInstanceOf(Error);
  });

  it.each(OPS)('%s: a hung engine (accepts, never answers) fails at the deadline with ERR_ENGINE_TIMEOUT', async (_op, run) => {
    fake.handle(() => undefined);
    const t0 = Date.now();
    const err = await run(engine(300), AbortSignal.timeout(20_000)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isIronError(err, 'ERR_ENGINE_TIMEOUT'), String(err)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('a caller abort still wins over the deadline', async () => {
    fake.handle(() => undefined);
    const err = await engine(5_000)
      .containerInspect('abc', AbortSignal.timeout(100))
      .catch((e: unknown) => e);
    expect(isIronError(err, 'ERR_ABORTED'), String(err)).toBe(true);
  });

  it('long streams outlive the call deadline while the engine answers /_ping', async () => {
    fake.handle((req, res) => {
      if (req.url?.includes('/_ping') === true) {
        res.end('OK');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.write('');
      setTimeout(() => res.end('{"StatusCode":3}'), 1_500);
    });
    expect(await engine(300).containerWait('abc', AbortSignal.timeout(10_000))).toBe(3);
  });

  it.each(['container wait', 'container attach'])('%s: the liveness probe ends the stream when the engine stops answering /_ping', async (op) => {
    fake.handle((req, res) => {
      if (req.url?.includes('/_ping') === true) return; // hung
      res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream', 'transfer-encoding': 'chunked' });
      res.write('');
    });
    const run = OPS.find(([name]) => name === op)?.[1];
    if (run === undefined) throw new Error(op);
    const t0 = Date.now();
    const err = await run(engine(2_000), AbortSignal.timeout(30_000)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isIronError(err, 'ERR_ENGINE_TIMEOUT') || (err as { code?: string } | undefined)?.code === 'ERR_ENGINE_TIMEOUT', String(err)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('container create sends Env only in the body: the query holds the name alone', async () => {
    fake.handle((_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"Id":"c0ffee","Warnings":[]}');
    });
    const before = fake.requests.length;
    expect(await engine().containerCreate(createBody, AbortSignal.timeout(10_000))).toBe('c0ffee');
    const req = fake.requests.slice(before).find((r) => r.url.includes('/containers/create'));
    expect(req?.url).toMatch(/\/containers\/create\?name=job-1$/);
    expect(req?.url).not.toContain('s3cr3t');
    expect(req?.url).not.toContain('Env');
    const body = JSON.parse(req?.body.toString() ?? '{}') as { Env?: string[]; name?: string; Image?: string };
    expect(body.Env).toContain('API_TOKEN=s3cr3t-canary-value');
    expect(body.Image).toBe('iron-test/busybox:1');
    expect(body.name).toBeUndefined();
  });
});
