// A task the engine refuses before start ends `error` with the engine's reason instead of being given
// back (issue 13 item 8a: a 431 from create, and the 301 of item 2, were re-reserved 16-25 times a
// second without end). Only transient failures are given back, and only a bounded number of times.
// A real iron-api, the real TaskRun and sandbox code; the engine is a fake socket, because a real
// engine cannot be made to refuse a create with a chosen status on demand.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunnerClient, type ReservedTask, type RunnerClient } from '../../src/api/index.js';
import { loadRunnerConfig } from '../../src/config/runner.js';
import { silentLogger } from '../../src/log.js';
import { RunnerEvents } from '../../src/runner/events.js';
import { RunnerMetrics } from '../../src/runner/metrics.js';
import { createCodeCache } from '../../src/runner/task-code.js';
import { MAX_GIVE_BACK_ATTEMPTS } from '../../src/runner/outcome.js';
import { TaskRun } from '../../src/runner/task-run.js';
import { createDockerEngine, type Sandbox } from '../../src/sandbox/index.js';
import { ImageCache } from '../../src/sandbox/images.js';
import { ImageProvenance } from '../../src/sandbox/image-provenance.js';
import { prepareTask, type RunContext } from '../../src/sandbox/prepare.js';
import type { JobInput } from '../../src/sandbox/input-contract.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engine.js';
import { getTask, queue, registerCode, reserve, startTestServer, type TestServer } from '../server/helpers.js';

let s: TestServer;
let fake: FakeEngine;
let client: RunnerClient;
let spool: string;

beforeAll(async () => {
  s = await startTestServer();
  fake = await startFakeEngine();
  client = createRunnerClient({ baseUrl: s.url, token: s.ctoken, clusterId: s.cid });
  spool = mkdtempSync(path.join(tmpdir(), 'iron-refused-'));
  await registerCode(s, 'refused');
});
afterAll(async () => {
  await client.close();
  await fake.close();
  await s.close();
  rmSync(spool, { recursive: true, force: true });
});

/** The engine answers image inspect, and create with `create`; everything else 204. */
function engineAnswers(create: (res: import('node:http').ServerResponse, req: import('node:http').IncomingMessage) => void): void {
  fake.handle((req, res) => {
    if (req.url?.includes('/images/') === true) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ Id: 'sha256:1', Size: 1, Config: {} }));
    } else if (req.url?.includes('/containers/create') === true) {
      create(res, req);
    } else {
      res.writeHead(204);
      res.end();
    }
  });
}

async function runOnce(task: ReservedTask): Promise<Record<string, unknown>> {
  const engine = createDockerEngine({ socketPath: fake.socket, callTimeoutMs: 5_000 });
  const log = silentLogger();
  const input = {
    prepare: async () => ({ mount: { Type: 'volume', Source: 'v', Target: '/task/input', ReadOnly: true }, filled: Promise.resolve(), dispose: async () => undefined }),
  } as unknown as JobInput;
  const ctx: RunContext = {
    engine,
    log,
    images: new ImageCache(engine, log, { pullTimeoutMs: 1_000, cacheBytes: undefined }, new ImageProvenance(undefined, log)),
    input,
    capabilities: { diskQuota: 'fallback', egressRules: false, storageDriver: 'overlay2' },
    networkName: 'none',
    instanceId: 'i1',
    maxLogBytes: 1 << 20,
    stopGraceMs: 100,
    defaultPidsLimit: 64,
  };
  const sandbox = { prepare: (spec, signal) => prepareTask(ctx, spec, signal) } as Pick<Sandbox, 'prepare'> as Sandbox;
  const config = loadRunnerConfig({ CLUSTER_ID: s.cid, CLUSTER_TOKEN: s.ctoken, API_URL: s.url, JOBS_DIR: spool }, { usableMemory: 1 << 30 });
  let engineFailures = 0;
  const metrics = new RunnerMetrics();
  const events = new RunnerEvents();
  const seen: string[] = [];
  for (const name of ['task.reserved', 'task.refused', 'task.starting', 'task.finished', 'task.given_back', 'task.unreported', 'task.report_failed', 'task.crashed', 'task.released'] as const) {
    events.on(name, (e) => {
      if (e.taskId === task.id) seen.push(name);
    });
  }
  const run = new TaskRun(task, {
    api: client.runner,
    sandbox,
    config,
    log,
    events,
    metrics,
    spoolDir: spool,
    codeCache: createCodeCache(path.join(spool, 'code-cache'), config, events),
    deliverRetry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 100 },
    hardStop: new AbortController().signal,
    onEngineFailure: () => engineFailures++,
  });
  await run.run();
  // One run: reserved first, released last, and exactly one event that says how it was reported.
  expect(seen[0]).toBe('task.reserved');
  expect(seen.at(-1)).toBe('task.released');
  expect(seen.filter((e) => ['task.finished', 'task.given_back', 'task.unreported', 'task.report_failed'].includes(e))).toHaveLength(1);
  return { ...(await getTask(s, task.id)), engineFailures, events: seen };
}

async function reserveOne(): Promise<ReservedTask> {
  await queue(s, [{ code_name: 'refused', payload: 'p' }]);
  const [t] = await reserve(s);
  if (t === undefined) throw new Error('nothing reserved');
  return t as unknown as ReservedTask;
}

describe('tasks the engine refuses before start', () => {
  it.each([
    [431, 'Request Header Fields Too Large'],
    [400, 'invalid environment variable'],
    [409, 'Conflict. The container name is already in use'],
    [413, 'request entity too large'],
  ])('create answered %i ends error with the engine reason, not given back', async (status, message) => {
    engineAnswers((res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message }));
    });
    const t = await runOnce(await reserveOne());
    expect(t['status']).toBe('error');
    expect(String(t['msg'])).toContain(message);
    expect(t['engineFailures']).toBe(0);
    // The API accepted the start (task.starting: the call overlaps the create), but the job never ran.
    expect(t['events']).toEqual(['task.reserved', 'task.starting', 'task.refused', 'task.finished', 'task.released']);
  });

  it('a transient failure (the engine hangs up on create) is given back', async () => {
    engineAnswers((_res, req) => req.socket.destroy());
    const t = await runOnce(await reserveOne());
    expect(t['status']).toBe('queued');
    expect(t['engineFailures']).toBe(1);
    expect(t['events']).toEqual(['task.reserved', 'task.starting', 'task.given_back', 'task.released']);
  });

  it(`after ${MAX_GIVE_BACK_ATTEMPTS} attempts a transient failure ends the task error instead`, async () => {
    engineAnswers((_res, req) => req.socket.destroy());
    const t = await runOnce({ ...(await reserveOne()), attempt: MAX_GIVE_BACK_ATTEMPTS });
    expect(t['status']).toBe('error');
    expect(String(t['msg'])).toMatch(/^given back 10 times without running; last failure: docker engine error/);
  });

  it('a task the sandbox refuses as input (an env var name with "=") ends error, not given back', async () => {
    engineAnswers((res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"Id":"c1"}');
    });
    const t = await runOnce({ ...(await reserveOne()), env_vars: { 'A=B': 'x' } });
    expect(t['status']).toBe('error');
    expect(String(t['msg'])).toMatch(/^task refused: invalid task spec: env var/);
    expect(t['engineFailures']).toBe(0);
  });
});
