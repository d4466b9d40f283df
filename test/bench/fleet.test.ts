// The fleet benchmark's bookkeeping against a real iron-api (in-process, real SQLite file, real HTTP
// on port 0): a tiny fleet of simulated runners takes every queued task, and each one finishes
// exactly once and is handed out by one reservation only. Timing is not asserted.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyFleet, idleFleet, type FleetApi } from '../../bench/lib/fleet-run.js';
import { serverConfig } from '../../src/config/server.js';
import { silentLogger } from '../../src/log.js';
import { startServer, type ServerHandle } from '../../src/server/start.js';

let dir: string;
let server: ServerHandle;
let api: FleetApi;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-test-'));
  server = await startServer({ config: serverConfig({ port: 0, dataDir: dir }), log: silentLogger() });
  const b = server.bootstrap;
  if (b === null) throw new Error('no bootstrap credentials');
  api = { urls: [server.url], pids: [process.pid], ...b };
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('fleet benchmark', () => {
  it('20 simulated runners complete 50 queued tasks, each exactly once', async () => {
    const r = await busyFleet(api, { processes: false, generators: 2, runners: 20, slots: 2, taskMs: 100, steps: [100], stepS: 30, total: 50, drainTimeoutS: 60 });
    expect(r.queued).toBe(50);
    expect(r.notOnce).toBe(0);
    expect(r.reservedTwice).toBe(0);
    expect(r.steps[0]?.errors ?? {}).toEqual({});
  });

  it('idle runners park and heartbeat', async () => {
    const r = await idleFleet(api, { processes: false, generators: 1, runners: 20, warmS: 0.5, measureS: 1.5 });
    expect(r.heartbeats).toBeGreaterThan(0);
    expect(r.errors).toEqual({});
  });
});
