// Failures the runner must survive without losing or duplicating a task, a log byte or a status.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  watchContainerEvents,
  containersOf,
  waitForJobRunning,
  registerImage,
  removeNetwork,
  spawnRunner,
  startApi,
  taskLog,
  uniqueNetwork,
  waitForTask,
  type Api,
  type RunnerProc,
} from './harness.js';

let api: Api;
const network = uniqueNetwork();
const started: RunnerProc[] = [];

function runner(env: Record<string, string> = {}, jobsDir?: string): RunnerProc {
  const r = spawnRunner(api, { JOB_NETWORK: network, ...env }, jobsDir);
  started.push(r);
  return r;
}

async function ready(r: RunnerProc): Promise<void> {
  await r.waitForEvent('api.connected');
}

function instanceOf(r: RunnerProc): string {
  return readFileSync(path.join(r.jobsDir, 'instance-id'), 'utf8').trim();
}

async function queue(code: string, n = 1, extra: Record<string, unknown> = {}): Promise<string[]> {
  return api.client.project.queueTasks(
    Array.from({ length: n }, (_, i) => ({ code_name: code, payload: `p${i}`, cluster: api.clusterId, ...extra })),
    AbortSignal.timeout(10_000),
  );
}

beforeAll(async () => {
  api = await startApi();
  await registerImage(api, 'chatty', `sh -c 'for i in $(seq 1 24); do echo "line $i of $TASK_ID"; sleep 0.5; done'`);
  await registerImage(api, 'slow', `sh -c 'echo begin; sleep 6; echo end'`);
  await registerImage(api, 'long', `sh -c 'echo begin; sleep 60; echo end'`);
  await registerImage(api, 'quick', `sh -c 'echo "ran $TASK_ID"'`);
});

afterAll(async () => {
  for (const r of started) await r.stop('SIGKILL');
  await removeNetwork(network);
  await api?.stop();
});

describe('runner fault tolerance', () => {
  it('keeps running through a 20 s API outage: no log byte or status lost', async () => {
    const r = runner();
    await ready(r);
    const ids = await queue('chatty', 3);
    await Promise.all(ids.map((id) => waitForTask(api, id, new Set(['running']))));
    await api.restart({ downMs: 20_000 });
    const done = await Promise.all(ids.map((id) => waitForTask(api, id, undefined, 90_000)));
    expect(done.map((t) => t.status)).toEqual(['complete', 'complete', 'complete']);
    for (const id of ids) {
      const expected = Array.from({ length: 24 }, (_, i) => `line ${i + 1} of ${id}\n`).join('');
      expect(await taskLog(api, id)).toBe(expected);
    }
    expect(await r.stop()).toBe(0);
  }, 150_000);

  it('after kill -9 and a restart, the runner gives its tasks back and they complete; no container is left', async () => {
    const first = runner({ CONCURRENCY: '2' });
    await ready(first);
    const ids = await queue('slow', 2);
    await Promise.all(ids.map((id) => waitForJobRunning(api, id)));
    const instance = instanceOf(first);
    first.proc.kill('SIGKILL');
    await first.exited;
    expect(await containersOf(instance, 'job')).toBe(2); // the job containers outlive the runner process
    const second = runner({ CONCURRENCY: '2' }, first.jobsDir);
    await second.waitForEvent('task.given_back', (l) => l['why'] === 'runner restarted');
    const done = await Promise.all(ids.map((id) => waitForTask(api, id, undefined, 60_000)));
    expect(done.map((t) => t.status)).toEqual(['complete', 'complete']);
    for (const t of done) expect((t as { attempt?: number }).attempt ?? 1).toBeGreaterThan(1);
    for (const id of ids) expect(await taskLog(api, id)).toMatch(/end\n$/);
    expect(await second.stop()).toBe(0);
    expect(await containersOf(instance)).toBe(0);
  }, 120_000);

  it('drains on SIGTERM: the running task finishes, nothing new is taken, exit code 0', async () => {
    const r = runner();
    await ready(r);
    const [id] = await queue('slow');
    await waitForTask(api, id ?? '', new Set(['running']));
    r.proc.kill('SIGTERM');
    await r.waitForEvent('runner.draining');
    const [later] = await queue('quick');
    expect(await r.exited).toBe(0);
    expect((await waitForTask(api, id ?? '')).status).toBe('complete');
    expect((await api.client.project.getTask(later ?? '', AbortSignal.timeout(5_000))).status).toBe('queued');
    await api.client.project.cancelTask(later ?? '', AbortSignal.timeout(5_000));
  }, 60_000);

  it('gives a task back when the drain timeout passes, and exits 0', async () => {
    const r = runner({ DRAIN_TIMEOUT: '1s' });
    await ready(r);
    const [id] = await queue('long');
    await waitForTask(api, id ?? '', new Set(['running']));
    r.proc.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    expect((await api.client.project.getTask(id ?? '', AbortSignal.timeout(5_000))).status).toBe('queued');
    expect(await containersOf(instanceOf(r))).toBe(0);
    await api.client.project.cancelTask(id ?? '', AbortSignal.timeout(5_000));
  }, 60_000);

  it('two runners on one cluster never run the same task', async () => {
    const events = await watchContainerEvents();
    const a = runner({ CONCURRENCY: '3' });
    const b = runner({ CONCURRENCY: '3' });
    await Promise.all([ready(a), ready(b)]);
    const ids = await queue('quick', 30);
    const done = await Promise.all(ids.map((id) => waitForTask(api, id, undefined, 120_000)));
    expect(done.every((t) => t.status === 'complete')).toBe(true);
    const reservedBy = (r: RunnerProc): Set<string> => new Set(r.eventLines('task.reserved').map((l) => l['task_id'] as string));
    const ra = reservedBy(a);
    const rb = reservedBy(b);
    expect([...ra].filter((id) => rb.has(id))).toEqual([]);
    expect(ra.size + rb.size).toBe(30);
    expect(ra.size).toBeGreaterThan(0);
    expect(rb.size).toBeGreaterThan(0);
    const seen = await events.stop();
    for (const id of ids)
      expect(
        (seen.get(id) ?? []).filter((e) => e === 'create'),
        id,
      ).toHaveLength(1);
    for (const id of ids) expect(await taskLog(api, id)).toBe(`ran ${id}\n`);
    expect(await a.stop()).toBe(0);
    expect(await b.stop()).toBe(0);
  }, 150_000);
});
