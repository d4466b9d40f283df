// Five rounds of kill -9 of a runner while 8 tasks run and more are queued, restarting it each time:
// every task ends exactly once, re-runs happen only after runner loss (attempt > 1, one job container
// per attempt), no container is left, and tasks that completed on their first try lost no log byte.
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersOf, registerImage, removeNetwork, spawnRunner, startApi, taskLog, uniqueNetwork, waitForTask, watchContainerEvents, type Api, type RunnerProc } from '../runner/harness.js';

let api: Api;
const network = uniqueNetwork();
const jobsDir = mkdtempSync(path.join(tmpdir(), 'iron-crash-'));
const started: RunnerProc[] = [];

beforeAll(async () => {
  // FIFO hands the tasks a kill requeued out first again, so the same tasks can lose their runner
  // in every round; on a loaded machine a restart outlasts the 6 s lease and each loss counts
  // towards MAX_ATTEMPTS. The limit is not what this test is about: it is set above the rounds.
  api = await startApi({ leaseMs: 6_000, maxAttempts: 10 });
  await registerImage(api, 'work', `sh -c 'for i in 1 2 3 4 5; do echo "$TASK_ID line $i"; sleep 0.4; done'`);
});

afterAll(async () => {
  for (const r of started) await r.stop('SIGKILL');
  await removeNetwork(network);
  await api?.stop();
});

function runner(): RunnerProc {
  const r = spawnRunner(api, { JOB_NETWORK: network, CONCURRENCY: '8' }, jobsDir);
  started.push(r);
  return r;
}

async function running(): Promise<number> {
  return (await api.client.project.listTasks({ statuses: ['running'], perPage: 100 }, AbortSignal.timeout(5_000))).length;
}

describe('runner crash rounds', () => {
  it('5 x kill -9 with 8 tasks running: every task ends exactly once, nothing left, no log byte lost', async () => {
    const events = await watchContainerEvents();
    const ids = await api.client.project.queueTasks(
      Array.from({ length: 48 }, () => ({ code_name: 'work', payload: '', cluster: api.clusterId })),
      AbortSignal.timeout(10_000),
    );
    for (let round = 1; round <= 5; round++) {
      const r = runner();
      await r.waitForEvent('api.connected');
      const deadline = Date.now() + 20_000;
      while ((await running()) < 8 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
      r.proc.kill('SIGKILL');
      await r.exited;
    }
    const last = runner();
    const done = await Promise.all(ids.map((id) => waitForTask(api, id, undefined, 180_000)));
    const seen = await events.stop();

    const rerun = done.filter((t) => ((t as { attempt?: number }).attempt ?? 1) > 1);
    const figures = {
      queued: ids.length,
      complete: done.filter((t) => t.status === 'complete').length,
      rerun_after_loss: rerun.length,
      // FIFO hands the requeued tasks out first again, so the same ones are hit round after round.
      max_attempt: Math.max(...done.map((t) => (t as { attempt?: number }).attempt ?? 1)),
      duplicated: 0,
      containers_left: 0,
      log_bytes_lost: 0,
    };
    for (const t of done) {
      const attempts = (t as { attempt?: number }).attempt ?? 1;
      const starts = (seen.get(t.id) ?? []).filter((a) => a === 'start').length;
      // A task may start at most once per attempt: never twice within one reservation.
      if (starts > attempts) figures.duplicated++;
      const expected = [1, 2, 3, 4, 5].map((i) => `${t.id} line ${i}\n`).join('');
      const log = await taskLog(api, t.id);
      if (attempts === 1 && log !== expected) figures.log_bytes_lost += Math.abs(expected.length - log.length) || 1;
      if (attempts > 1) expect(log.endsWith(`---\n${expected}`) || log === expected, `task ${t.id} attempt ${attempts} log: ${JSON.stringify(log)}`).toBe(true);
    }
    expect(await last.stop()).toBe(0);
    figures.containers_left = await containersOf(readFileSync(path.join(jobsDir, 'instance-id'), 'utf8').trim());
    console.log(`runner crash rounds: ${JSON.stringify(figures)}`);
    expect(figures.complete).toBe(ids.length);
    expect(figures.duplicated).toBe(0);
    expect(figures.containers_left).toBe(0);
    expect(figures.log_bytes_lost).toBe(0);
    expect(figures.rerun_after_loss).toBeGreaterThan(0); // the kills did hit running tasks
    expect(figures.rerun_after_loss).toBeLessThanOrEqual(5 * 8);
  }, 300_000);
});
