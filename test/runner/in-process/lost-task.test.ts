// A task whose lease ran out on the server while the runner still ran it: the first run stops and
// never reports, whether another runner reserved the task (the heartbeat answers `lost`) or this
// runner reserved it again (the new reservation replaces the run). The server's lease (3 s) is below
// what the runner honours (5 s), so the runner keeps its own 60 s lease and does not fence: the lease
// expires on the server only, as with a clock skew or a long pause. Its heartbeats are held back
// meanwhile; reserves and the rest go through. A real iron-api, the real engine, the Runner in-process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunnerClient } from '../../../src/api/index.js';
import { registerImage, removeNetwork, startApi, uniqueNetwork, waitForJobRunning, waitForTask, watchContainerEvents, type Api } from '../harness.js';
import { startInProcessRunner, type InProcessRunner } from './in-process.js';

const network = uniqueNetwork();
let api: Api;

beforeAll(async () => {
  api = await startApi({ leaseMs: 3_000 });
  // Long enough that the first run is still running when the task is reserved again.
  await registerImage(api, 'napper', "sh -c 'echo begin; sleep 20; echo end'");
}, 60_000);

afterAll(async () => {
  await removeNetwork(network);
  await api?.stop();
});

async function withRunner(concurrency: number, body: (r: InProcessRunner) => Promise<void>): Promise<void> {
  const r = await startInProcessRunner({
    apiUrl: api.url,
    clusterId: api.clusterId,
    clusterToken: api.clusterToken,
    engineSocket: '/var/run/docker.sock',
    network,
    env: { CONCURRENCY: String(concurrency) },
  });
  try {
    await body(r);
    expect(r.listenerErrors).toEqual([]);
  } finally {
    await r.stop();
  }
}

async function queueNapper(): Promise<string> {
  const [id = ''] = await api.client.project.queueTasks([{ code_name: 'napper', payload: '', cluster: api.clusterId }], AbortSignal.timeout(5_000));
  return id;
}

describe('a task lost, then reserved again', () => {
  it('another runner reserved it: the heartbeat says lost, the first run stops and does not report', async () => {
    // One slot: this runner cannot take the task again itself.
    await withRunner(1, async (r) => {
      const id = await queueNapper();
      const first = await r.events.wait('task.reserved', (e) => e.taskId === id);
      await waitForJobRunning(api, id);
      r.failHeartbeats(true);
      await waitForTask(api, id, new Set(['queued']), 30_000);
      const other = createRunnerClient({ baseUrl: api.url, token: api.clusterToken, clusterId: api.clusterId });
      try {
        const [taken] = (await other.runner.reserve({ instance_id: 'another-runner', n: 1, wait: 0 }, AbortSignal.timeout(5_000))).tasks;
        expect(taken?.id).toBe(id);
        r.failHeartbeats(false);
        await r.events.wait('task.released', (e) => e.taskId === id, { timeoutMs: 30_000 });
        expect(r.finishes.filter((f) => f.taskId === id)).toEqual([]);
        expect(r.events.of('task.finished', (e) => e.taskId === id)).toEqual([]);
        expect(r.events.of('task.reserved', (e) => e.taskId === id)).toEqual([first]);
        // The other runner's reservation is untouched by the first run.
        await other.runner.finish(
          id,
          {
            reservation_id: taken?.reservation_id ?? '',
            status: 'complete',
            exit_code: 0,
            msg: '',
            duration_ms: 1,
            log_size: 0,
          },
          AbortSignal.timeout(5_000),
        );
        expect((await waitForTask(api, id)).status).toBe('complete');
      } finally {
        await other.close();
      }
    });
  }, 120_000);

  it('this runner reserved it again: the first run stops without reporting; the new reservation reports', async () => {
    // A free slot: the runner's own reserve takes the requeued task while the first run still runs.
    await withRunner(2, async (r) => {
      const engine = await watchContainerEvents();
      const id = await queueNapper();
      const first = await r.events.wait('task.reserved', (e) => e.taskId === id);
      await waitForJobRunning(api, id);
      r.failHeartbeats(true);
      const second = await r.events.wait('task.reserved', (e) => e.taskId === id && e.reservationId !== first.reservationId, { timeoutMs: 30_000 });
      expect(second.attempt).toBeGreaterThan(first.attempt);
      // The first run's slot frees once its container is gone, long before its 20 s sleep ends.
      await r.events.wait('task.released', (e) => e.taskId === id, { timeoutMs: 30_000 });
      r.failHeartbeats(false);
      await r.events.wait('task.finished', (e) => e.taskId === id, { timeoutMs: 60_000 });
      expect((await waitForTask(api, id)).status).toBe('complete');
      await r.events.wait('task.released', (e) => e.taskId === id, { nth: 2, timeoutMs: 30_000 });
      // One report in all, for the second reservation.
      expect(r.finishes.filter((f) => f.taskId === id)).toEqual([{ taskId: id, reservationId: second.reservationId, status: 'complete' }]);
      expect(r.events.of('task.finished', (e) => e.taskId === id)).toHaveLength(1);
      // The first run was stopped by the runner (the engine signalled its job container), not left to
      // run out: its stale report would only have been refused by the server.
      const actions = (await engine.stop()).get(id) ?? [];
      expect(actions.filter((a) => a === 'create')).toHaveLength(2);
      expect(actions).toContain('kill');
    });
  }, 120_000);
});
