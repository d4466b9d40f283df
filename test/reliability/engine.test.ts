// The Docker engine restarted (and crashed) under a running runner: affected tasks end `error` or are
// given back with a clear msg, nothing is lost, and the runner recovers without being restarted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateEngine, type PrivateEngine } from '../helpers/private-engine.js';
import { registerImage, spawnRunner, startApi, taskLog, waitForTask, type Api, type RunnerProc } from '../runner/harness.js';

let api: Api;
let engine: PrivateEngine;
let runner: RunnerProc;

beforeAll(async () => {
  engine = await startPrivateEngine();
  api = await startApi();
  await registerImage(api, 'long', `sh -c 'echo begin; sleep 30; echo end'`);
  await registerImage(api, 'quick', `sh -c 'echo "ran $TASK_ID"'`);
  runner = spawnRunner(api, { DOCKER_HOST: engine.dockerHost, MANAGE_EGRESS_RULES: 'false', JOB_NETWORK: 'irtjobs', CONCURRENCY: '3' });
  await runner.waitForEvent('api.connected');
}, 90_000);

afterAll(async () => {
  await runner?.stop();
  await api?.stop();
  await engine?.destroy();
}, 60_000);

async function queue(code: string, n: number): Promise<string[]> {
  return api.client.project.queueTasks(
    Array.from({ length: n }, () => ({ code_name: code, payload: '', cluster: api.clusterId })),
    AbortSignal.timeout(5_000),
  );
}

for (const [how, signal] of [
  ['restarted', 'SIGTERM'],
  ['crashed', 'SIGKILL'],
] as const) {
  describe(`engine ${how} mid-run`, () => {
    it('ends the affected tasks with a clear msg, then runs new tasks without a runner restart', async () => {
      const ids = await queue('long', 3);
      // The jobs really run (their first line is in the log), not just `running` in the API.
      await Promise.all(
        ids.map(async (id) => {
          await waitForTask(api, id, new Set(['running']));
          for (const until = Date.now() + 60_000; !(await taskLog(api, id)).includes('begin') && Date.now() < until;) await new Promise((r) => setTimeout(r, 100));
        }),
      );
      await engine.stop(signal);
      await new Promise((r) => setTimeout(r, 2_000));
      await engine.start();
      const ended = await Promise.all(ids.map((id) => waitForTask(api, id, new Set(['error', 'complete', 'queued', 'cancelled', 'timeout', 'killed']), 60_000)));
      const figures = { queued: ids.length, error: 0, requeued: 0, complete: 0 };
      for (const t of ended) {
        if (t.status === 'error') {
          figures.error++;
          expect(t.msg ?? '').toMatch(/docker engine|engine/i);
        } else if (t.status === 'queued') figures.requeued++;
        else figures.complete++;
      }
      expect(figures.complete).toBe(0); // a job killed with its engine never reports success
      // Recovery: a new task runs on the same runner process.
      const [fresh] = await queue('quick', 1);
      const done = await waitForTask(api, fresh ?? '', undefined, 90_000);
      expect(done.status).toBe('complete');
      expect(await taskLog(api, fresh ?? '')).toBe(`ran ${fresh}\n`);
      expect(runner.proc.exitCode).toBeNull();
      // A task given back may run again here; cancel it so that its container goes too.
      for (const t of ended) if (t.status === 'queued') await api.client.project.cancelTask(t.id, AbortSignal.timeout(5_000));
      // Nothing of the ended tasks is left on the engine (removal follows the reports: allow it time).
      const leftNow = (): string[] =>
        engine
          .docker(['ps', '-aq', '--filter', 'label=io.iron-runner.managed'])
          .split('\n')
          .filter((s) => s !== '');
      let left = leftNow();
      for (const until = Date.now() + 30_000; left.length > 0 && Date.now() < until; left = leftNow()) await new Promise((r) => setTimeout(r, 250));
      console.log(`engine ${how}: ${JSON.stringify({ ...figures, recovered: true, containers_left: left.length })}`);
      if (left.length > 0) {
        // What the runner said about cleanup and the engine: the only trace CI keeps of why.
        const said = runner.lines.filter((l) => Number(l['level']) >= 40 || /reap|engine|removed|leftover/i.test(String(l['msg'])));
        console.log(said.map((l) => JSON.stringify({ t: l['time'], level: l['level'], msg: l['msg'], task: l['task_id'], err: (l['err'] as { message?: string } | undefined)?.message })).join('\n'));
      }
      expect(left).toEqual([]);
    }, 180_000);
  });
}
