// Limit precedence and the memory budget, end to end with real containers: a task gets what its
// cluster asks, never more than the runner's MEMORY_PER_JOB; a runner never starts more tasks than
// JOBS_MEMORY holds at MEMORY_PER_JOB each, whatever CONCURRENCY says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerImage, removeNetwork, spawnRunner, startApi, taskLog, uniqueNetwork, waitForTask, type Api, type RunnerProc } from './harness.js';

const MiB = 1024 * 1024;
let api: Api;
const network = uniqueNetwork();

beforeAll(async () => {
  api = await startApi();
  // 200 MB held at once by `tail` (it keeps the last N bytes); `wc` exits 0 either way, so only the
  // engine's OOM flag tells a killed tail from a finished one.
  await registerImage(api, 'alloc200', "sh -c 'head -c 200000000 /dev/zero | tail -c 200000000 | wc -c'");
  await registerImage(api, 'limit', 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes');
  await registerImage(api, 'nap', 'sleep 3');
});

afterAll(async () => {
  await removeNetwork(network);
  await api?.stop();
});

async function queue(code: string, n = 1): Promise<string[]> {
  return api.client.project.queueTasks(
    Array.from({ length: n }, () => ({ code_name: code, payload: '', cluster: api.clusterId })),
    AbortSignal.timeout(5_000),
  );
}

async function setClusterMemory(bytes: number): Promise<void> {
  const res = await fetch(`${api.url}/2/clusters/${api.clusterId}`, {
    method: 'PUT',
    headers: { authorization: `OAuth ${api.handle.bootstrap?.projectToken ?? ''}`, 'content-type': 'application/json' },
    body: JSON.stringify({ memory: bytes }),
  });
  expect(res.status).toBe(200);
}

describe('memory precedence: the cluster asks, MEMORY_PER_JOB is the most a task gets', () => {
  let runner: RunnerProc;
  beforeAll(async () => {
    // The cluster keeps iron-api's default of 256M per task.
    runner = spawnRunner(api, { JOB_NETWORK: network, MEMORY_PER_JOB: '64M', CONCURRENCY: '2' });
    await runner.waitForEvent('api.connected');
  });
  afterAll(async () => {
    expect(await runner.stop()).toBe(0);
  });

  it('says at startup that the cluster asks more than the runner grants', async () => {
    const line = await runner.waitForEvent('config.warning', (l) => typeof l['cluster_memory'] === 'string');
    expect(line).toMatchObject({ cluster_memory: '256 MiB', memory_per_job: '64 MiB' });
  });

  it('a 200 MB allocation under MEMORY_PER_JOB=64M is killed, and the msg names both sizes', async () => {
    const [id] = await queue('alloc200');
    const t = await waitForTask(api, id ?? '');
    expect(t.status).toBe('killed');
    expect(t.msg).toMatch(/out of memory \(limit 64 MiB\); the task asks 256 MiB, this runner grants at most 64 MiB \(MEMORY_PER_JOB\)/);
  }, 90_000);

  it('the job sees the runner maximum as its limit when the cluster asks more', async () => {
    const [id] = await queue('limit');
    expect((await waitForTask(api, id ?? '')).status).toBe('complete');
    expect(Number((await taskLog(api, id ?? '')).trim())).toBe(64 * MiB);
  }, 60_000);

  it('the job gets what the cluster asks when that is below the maximum', async () => {
    await setClusterMemory(48 * MiB);
    try {
      const [id] = await queue('limit');
      expect((await waitForTask(api, id ?? '')).status).toBe('complete');
      expect(Number((await taskLog(api, id ?? '')).trim())).toBe(48 * MiB);
    } finally {
      await setClusterMemory(256 * MiB);
    }
  }, 60_000);
});

describe('the memory budget: CONCURRENCY never overcommits JOBS_MEMORY', () => {
  it('with CONCURRENCY=3 but room for two 64M tasks in JOBS_MEMORY=128M, at most two run at once', async () => {
    const runner = spawnRunner(api, { JOB_NETWORK: network, MEMORY_PER_JOB: '64M', CONCURRENCY: '3', JOBS_MEMORY: '128M' });
    try {
      await runner.waitForEvent('api.connected');
      const warned = await runner.waitForEvent('config.warning', (l) => typeof l['jobs_memory'] === 'string' && l['fit'] !== undefined);
      expect(warned).toMatchObject({ concurrency: 3, fit: 2 });
      const ids = await queue('nap', 3);
      let most = 0;
      const deadline = Date.now() + 90_000;
      for (;;) {
        const tasks = await Promise.all(ids.map((id) => api.client.project.getTask(id, AbortSignal.timeout(5_000))));
        most = Math.max(most, tasks.filter((t) => t.status === 'preparing' || t.status === 'running').length);
        if (tasks.every((t) => t.status === 'complete')) break;
        if (Date.now() > deadline || tasks.some((t) => ['error', 'killed', 'timeout', 'cancelled'].includes(t.status))) {
          throw new Error(`tasks did not all complete: ${tasks.map((t) => t.status).join(', ')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(most).toBe(2);
    } finally {
      expect(await runner.stop()).toBe(0);
    }
  }, 120_000);
});
