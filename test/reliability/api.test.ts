// iron-api killed with kill -9 for 30 s and restarted on the same data dir while runners run tasks:
// the runners keep running them, nothing is lost, and they resume within seconds of the API's return.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIronClient, type IronClient } from '../../src/api/index.js';
import { REPO_ROOT } from '../helpers/vectors.js';
import { registerImage, removeNetwork, spawnRunner, taskLog, uniqueNetwork, waitForTask, type Api, type RunnerProc } from '../runner/harness.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'iron-api-kill-'));
const network = uniqueNetwork();
let port = 0;
let apiProc: ChildProcess | undefined;
let runner: RunnerProc;
let client: IronClient;
let api: Api;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** Starts iron-api as a real process; resolves with what it printed on stdout (credentials on first start). */
async function startApiProcess(firstStart = false): Promise<string> {
  const proc = spawn(process.execPath, [path.join(REPO_ROOT, 'dist/src/server/main.js'), '--port', String(port), '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  apiProc = proc;
  let out = '';
  let err = '';
  // stdout and stderr are separate pipes: on a first start wait for the credentials as well.
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('iron-api did not start')), 20_000);
    const check = (): void => {
      if (err.includes('iron-api listening') && (!firstStart || /cluster token:\s+\S+\n/.test(out))) {
        clearTimeout(t);
        resolve();
      }
    };
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      check();
    });
    proc.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      check();
    });
  });
  return out;
}

beforeAll(async () => {
  port = await freePort();
  const out = await startApiProcess(true);
  const field = (name: string): string => new RegExp(`${name}:\\s+(\\S+)`).exec(out)?.[1] ?? '';
  const url = `http://127.0.0.1:${port}`;
  client = createIronClient({ baseUrl: url, token: field('project token'), projectId: field('project id') });
  api = { client, url, clusterId: field('cluster id'), clusterToken: field('cluster token') } as unknown as Api;
  await registerImage(api, 'chatty', `sh -c 'for i in $(seq 1 30); do echo "$TASK_ID $i"; sleep 0.5; done'`);
  await registerImage(api, 'quick', `sh -c 'echo "ran $TASK_ID"'`);
  runner = spawnRunner(api, { JOB_NETWORK: network, CONCURRENCY: '4' });
  await runner.waitForEvent('api.connected');
});

afterAll(async () => {
  await runner?.stop();
  await client?.close();
  apiProc?.kill('SIGKILL');
  await removeNetwork(network);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('API killed (kill -9) for 30 s', () => {
  it('runners keep running, nothing is lost, and they resume within seconds', async () => {
    const ids = await client.project.queueTasks(
      Array.from({ length: 4 }, () => ({ code_name: 'chatty', payload: '', cluster: api.clusterId })), AbortSignal.timeout(5_000),
    );
    const later = await client.project.queueTasks(
      Array.from({ length: 4 }, () => ({ code_name: 'quick', payload: '', cluster: api.clusterId })), AbortSignal.timeout(5_000),
    );
    await Promise.all(ids.map((id) => waitForTask(api, id, new Set(['running']))));
    apiProc?.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 30_000));
    await startApiProcess();
    const back = Date.now();
    const [probe] = await client.project.queueTasks([{ code_name: 'quick', payload: '', cluster: api.clusterId }], AbortSignal.timeout(5_000));
    expect((await waitForTask(api, probe ?? '', undefined, 60_000)).status).toBe('complete');
    const resumeMs = Date.now() - back;
    const done = await Promise.all([...ids, ...later].map((id) => waitForTask(api, id, undefined, 90_000)));
    let logLost = 0;
    for (const id of ids) {
      const expected = Array.from({ length: 30 }, (_, i) => `${id} ${i + 1}\n`).join('');
      if ((await taskLog(api, id)) !== expected) logLost++;
    }
    const figures = { queued: done.length + 1, complete: done.filter((t) => t.status === 'complete').length + 1, logs_incomplete: logLost, resume_ms: resumeMs };
    console.log(`API kill -9 for 30 s: ${JSON.stringify(figures)}`);
    expect(done.every((t) => t.status === 'complete')).toBe(true);
    expect(logLost).toBe(0);
    expect(resumeMs).toBeLessThan(15_000);
  }, 180_000);
});
