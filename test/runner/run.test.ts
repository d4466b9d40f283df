// The runner end to end: real iron-api, real iron-runner process, real Docker engine.
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_ROLE } from '../../src/sandbox/labels.js';
import { LABEL_TASK } from '../../src/sandbox/index.js';
import { testDocker } from '../helpers/docker.js';
import { containersOf, registerImage, removeNetwork, spawnRunner, startApi, taskLog, uniqueNetwork, waitForTask, type Api, type RunnerProc } from './harness.js';

let api: Api;
let runner: RunnerProc;
let metricsUrl = '';
const network = uniqueNetwork();

beforeAll(async () => {
  api = await startApi();
  await registerImage(api, 'echoer', `sh -c 'echo "task $TASK_ID says $(cat "$PAYLOAD_FILE")"; echo to-stderr >&2'`);
  await registerImage(api, 'exit3', "sh -c 'echo before; exit 3'");
  await registerImage(api, 'sleeper', "sh -c 'echo started; sleep 30'");
  await registerImage(api, 'hog', `sh -c 'x=a; while true; do x="$x$x"; done'`);
  await registerImage(api, 'leaky', `sh -c 'printf "pw=%s" "\${DB_PASSWORD:0:7}"; sleep 0.6; printf "%s\\n" "\${DB_PASSWORD:7}"; echo "again $DB_PASSWORD and $REGION"'`, {
    env_vars: { DB_PASSWORD: 'hunter2-canary-pw', REGION: 'eu-west-1' },
  });
  runner = spawnRunner(api, { JOB_NETWORK: network, METRICS_ADDR: '127.0.0.1:0' });
  await runner.waitForEvent('api.connected');
  const listening = await runner.waitForEvent('endpoints.listening');
  metricsUrl = `http://${String(listening['addr'])}`;
});

afterAll(async () => {
  const code = await runner?.stop();
  expect(code).toBe(0);
  // Every line of the whole run, start to stop, parses with no key twice (msg, name, ...).
  expect(runner.lines.length).toBeGreaterThan(20);
  expect(runner.duplicateKeys).toEqual([]);
  const instance = readFileSync(path.join(runner.jobsDir, 'instance-id'), 'utf8').trim();
  expect(await containersOf(instance)).toBe(0);
  await removeNetwork(network);
  await api?.stop();
});

describe('iron-runner end to end', () => {
  it('runs 50 short tasks at concurrency 4: all complete, logs are exactly the job output', async () => {
    const signal = AbortSignal.timeout(10_000);
    const ids = await api.client.project.queueTasks(
      Array.from({ length: 50 }, (_, i) => ({ code_name: 'echoer', payload: `p${i}`, cluster: api.clusterId })),
      signal,
    );
    const tasks = await Promise.all(ids.map((id) => waitForTask(api, id, undefined, 120_000)));
    expect(tasks.map((t) => t.status)).toEqual(ids.map(() => 'complete'));
    for (const t of tasks) expect(t.msg ?? '').toBe('');
    const logs = await Promise.all(ids.map((id) => taskLog(api, id)));
    ids.forEach((id, i) => {
      const log = logs[i] ?? '';
      expect(log).toContain(`task ${id} says p${i}\n`);
      expect(log).toContain('to-stderr\n');
      expect(log.length).toBe(`task ${id} says p${i}\n`.length + 'to-stderr\n'.length);
    });
    // Never more than CONCURRENCY (4) held at once, and really in parallel: replay the runner's events.
    // Each run emits task.reserved once when it starts and task.released once when its slot is free
    // (container removed), so the count is exact: it must come back to 0 with every task seen once.
    await Promise.all(ids.map((id) => runner.waitForEvent('task.released', (l) => l['task_id'] === id)));
    let held = 0;
    let maxHeld = 0;
    const ours = new Set(ids);
    const reserved = new Set<string>();
    for (const l of runner.lines) {
      const id = l['task_id'] as string;
      if (!ours.has(id)) continue;
      if (l['event'] === 'task.reserved') {
        reserved.add(id);
        maxHeld = Math.max(maxHeld, ++held);
      }
      if (l['event'] === 'task.released') held--;
    }
    expect(reserved.size).toBe(ids.length);
    expect(held).toBe(0);
    expect(maxHeld).toBeLessThanOrEqual(4);
    expect(maxHeld).toBeGreaterThanOrEqual(2);
  }, 180_000);

  it('reports a non-zero exit as error with the exit code', async () => {
    const [id] = await api.client.project.queueTasks([{ code_name: 'exit3', payload: '', cluster: api.clusterId }], AbortSignal.timeout(5_000));
    const t = await waitForTask(api, id ?? '');
    expect(t.status).toBe('error');
    expect(t.msg).toBe('exit code 3');
    expect(await taskLog(api, id ?? '')).toBe('before\n');
  }, 60_000);

  it('reports a timeout as timeout, with the limit in the msg', async () => {
    const [id] = await api.client.project.queueTasks([{ code_name: 'sleeper', payload: '', timeout: 2, cluster: api.clusterId }], AbortSignal.timeout(5_000));
    const t = await waitForTask(api, id ?? '');
    expect(t.status).toBe('timeout');
    expect(t.msg).toMatch(/2 s/);
  }, 60_000);

  it('reports an out-of-memory kill as killed', async () => {
    const [id] = await api.client.project.queueTasks([{ code_name: 'hog', payload: '', cluster: api.clusterId }], AbortSignal.timeout(5_000));
    const t = await waitForTask(api, id ?? '');
    expect(t.status).toBe('killed');
    expect(t.msg).toMatch(/out of memory/);
  }, 60_000);

  it('cancels a running task: the container stops and the task ends cancelled', async () => {
    const [id] = await api.client.project.queueTasks([{ code_name: 'sleeper', payload: '', cluster: api.clusterId }], AbortSignal.timeout(5_000));
    await waitForTask(api, id ?? '', new Set(['running']));
    const t0 = Date.now();
    await api.client.project.cancelTask(id ?? '', AbortSignal.timeout(5_000));
    await runner.waitForEvent('task.finished', (l) => l['task_id'] === id, 20_000);
    const elapsed = Date.now() - t0;
    const t = await waitForTask(api, id ?? '');
    expect(t.status).toBe('cancelled');
    // heartbeat (1 s) + SIGTERM through tini; generous bound for a loaded 2-core machine
    expect(elapsed).toBeLessThan(10_000);
  }, 60_000);

  it('cancels a queued task before any runner takes it', async () => {
    const [id] = await api.client.project.queueTasks([{ code_name: 'echoer', payload: 'x', delay: 60, cluster: api.clusterId }], AbortSignal.timeout(5_000));
    await api.client.project.cancelTask(id ?? '', AbortSignal.timeout(5_000));
    expect((await waitForTask(api, id ?? '')).status).toBe('cancelled');
    expect(runner.lines.some((l) => l['task_id'] === id)).toBe(false);
  }, 30_000);

  it('serves /healthz, /readyz and Prometheus /metrics with task outcomes', async () => {
    expect((await fetch(`${metricsUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${metricsUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect((await ready.text()).split('\n')).toEqual(['ready', 'engine: ok', 'api: ok', 'runner: ok', '']);
    const text = await (await fetch(`${metricsUrl}/metrics`)).text();
    // prom-client's standard names, which stock Node.js dashboards query.
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(text).not.toContain('iron_runner_process_');
    expect(text).not.toContain('iron_runner_nodejs_');
    expect(text).toMatch(/iron_runner_tasks_total\{outcome="complete"\} \d+/);
    expect(text).toMatch(/iron_runner_tasks_total\{outcome="killed"\} 1/);
    expect(text).toContain('iron_runner_slots_total 4');
    expect(text).toMatch(/iron_runner_pickup_seconds_count \d+/);
    expect((await fetch(`${metricsUrl}/nope`)).status).toBe(404);
  });

  it('cancels a task while its image is being pulled (preparing)', async () => {
    // A "registry" on loopback that accepts connections and never answers: the pull hangs.
    const sockets: Socket[] = [];
    const stuck = createServer((sock) => void sockets.push(sock));
    await new Promise<void>((r) => stuck.listen(0, '127.0.0.1', r));
    const port = (stuck.address() as { port: number }).port;
    try {
      await api.client.project.registerCode({ name: 'unpullable', image: `127.0.0.1:${port}/stuck:1` }, AbortSignal.timeout(5_000));
      const [id] = await api.client.project.queueTasks([{ code_name: 'unpullable', payload: '', cluster: api.clusterId }], AbortSignal.timeout(5_000));
      await runner.waitForEvent('task.reserved', (l) => l['task_id'] === id);
      await new Promise((r) => setTimeout(r, 1_000));
      expect((await api.client.project.getTask(id ?? '', AbortSignal.timeout(5_000))).status).toBe('preparing');
      await api.client.project.cancelTask(id ?? '', AbortSignal.timeout(5_000));
      await runner.waitForEvent('task.finished', (l) => l['task_id'] === id, 20_000);
      expect((await waitForTask(api, id ?? '')).status).toBe('cancelled');
    } finally {
      for (const s of sockets) s.destroy();
      stuck.close();
    }
  }, 60_000);

  it('never writes the cluster token into its own log', () => {
    expect(runner.stderr.join('\n')).not.toContain(api.clusterToken);
  });

  it('masks secret-looking env_vars values in the task log, also when split across output chunks', async () => {
    const [id] = await api.client.project.queueTasks([{ code_name: 'leaky', payload: '', cluster: api.clusterId }], AbortSignal.timeout(5_000));
    expect((await waitForTask(api, id ?? '')).status).toBe('complete');
    const log = await taskLog(api, id ?? '');
    expect(log).toBe('pw=***\nagain *** and eu-west-1\n');
    expect(log).not.toContain('hunter2');
  }, 60_000);

  it('does not blame the job when someone stops its container from outside (docker stop)', async () => {
    const [id] = await api.client.project.queueTasks([{ code_name: 'sleeper', payload: '', cluster: api.clusterId }], AbortSignal.timeout(5_000));
    await waitForTask(api, id ?? '', new Set(['running']));
    const docker = testDocker();
    // The API says `running` at the start call, a moment before the container itself runs.
    let job: { Id: string } | undefined;
    for (let i = 0; i < 100 && job === undefined; i++) {
      [job] = await docker.listContainers({ filters: { label: [`${LABEL_TASK}=${id ?? ''}`, `${LABEL_ROLE}=job`], status: ['running'] } });
      if (job === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    await docker.getContainer(job?.Id ?? 'missing').stop({ t: 1 });
    const t = await waitForTask(api, id ?? '');
    expect(t.status).toBe('error');
    expect(t.msg).toMatch(/^stopped by the docker engine, not by the job/);
  }, 60_000);
});
