// /readyz says which part is unhealthy and why, and /healthz answers from the start, while the runner
// still waits for its engine. Real runner processes against a real iron-api, a closed loopback port
// and a socket path where no engine listens.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersOf, registerImage, removeNetwork, spawnRunner, startApi, uniqueNetwork, waitForJobRunning, waitForTask, type Api, type RunnerProc } from './harness.js';

let api: Api;
const started: RunnerProc[] = [];
const network = uniqueNetwork();

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  for (const r of started) await r.stop('SIGKILL');
  await removeNetwork(network);
  await api?.stop();
});

async function start(env: Record<string, string>): Promise<{ runner: RunnerProc; url: string }> {
  const runner = spawnRunner(api, { JOB_NETWORK: network, METRICS_ADDR: '127.0.0.1:0', ...env });
  started.push(runner);
  const listening = await runner.waitForEvent('endpoints.listening');
  return { runner, url: `http://${String(listening['addr'])}` };
}

async function readyz(url: string): Promise<{ status: number; lines: string[] }> {
  const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, lines: (await res.text()).trim().split('\n') };
}

async function until(url: string, match: (lines: string[]) => boolean): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await readyz(url);
    if (match(r.lines)) {
      expect(r.status).toBe(503);
      return r.lines;
    }
    if (Date.now() > deadline) throw new Error(`readyz never matched; last:\n${r.lines.join('\n')}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

describe('runner readiness', () => {
  it('serves health while it waits for a Docker engine that is not there, naming its address and error', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'iron-noengine-'));
    try {
      const sock = path.join(dir, 'docker.sock');
      const { url } = await start({ DOCKER_HOST: `unix://${sock}` });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const lines = await until(url, (l) => l.some((x) => x.startsWith('engine: starting') && x.includes('(')));
      expect(lines[0]).toMatch(/^not ready: engine: starting/);
      expect(lines.find((l) => l.startsWith('engine:'))).toContain(`waiting for the Docker engine at unix://${sock}`);
      expect(lines).toContain('runner: starting');
      expect((await fetch(`${url}/metrics`)).status).toBe(200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('tells an unreachable API (address and error) apart from one that refused the token', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));

    const down = await start({ API_URL: `http://127.0.0.1:${port}` });
    const a = await until(down.url, (l) => l.some((x) => x.startsWith('api: API unreachable')));
    expect(a.find((l) => l.startsWith('api:'))).toMatch(new RegExp(`^api: API unreachable at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    expect(a).toContain('engine: ok');
    const warn = await down.runner.waitForEvent('api.failed', (l) => l['phase'] === 'cluster');
    expect(warn['api']).toBe(`http://127.0.0.1:${port}`);
    expect(String(warn['reason'])).toContain('ECONNREFUSED');

    const refused = await start({ CLUSTER_TOKEN: 'not-the-token' });
    const b = await until(refused.url, (l) => l.some((x) => x.startsWith('api: the API at')));
    const line = b.find((l) => l.startsWith('api:')) ?? '';
    expect(line).toContain(`the API at ${new URL(api.url).origin} refused the cluster credentials (ERR_API_UNAUTHORIZED`);
    expect(line).not.toContain('not-the-token');
    expect(line).not.toContain('unreachable');
  }, 90_000);

  it('says draining once the first SIGTERM arrived, while the running task finishes', async () => {
    await registerImage(api, 'sleeper', "sh -c 'sleep 4; echo done'");
    const { runner, url } = await start({});
    await runner.waitForEvent('api.connected');
    expect((await readyz(url)).lines).toEqual(['ready', 'engine: ok', 'api: ok', 'runner: ok']);
    const [id] = await api.client.project.queueTasks([{ code_name: 'sleeper', payload: '', cluster: api.clusterId }], AbortSignal.timeout(5_000));
    await waitForJobRunning(api, id ?? '');
    runner.proc.kill('SIGTERM');
    const lines = await until(url, (l) => l.includes('runner: draining: takes no new tasks'));
    expect(lines[0]).toBe('not ready: runner: draining: takes no new tasks');
    expect((await waitForTask(api, id ?? '')).status).toBe('complete');
    expect(await runner.exited).toBe(0);
    const instance = readFileSync(path.join(runner.jobsDir, 'instance-id'), 'utf8').trim();
    expect(await containersOf(instance)).toBe(0);
  }, 90_000);
});
