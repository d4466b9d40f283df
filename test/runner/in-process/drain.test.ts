// Drain and give-back: after drain() the runner takes nothing new; a task still running when the
// drain timeout passes is stopped and given back, and the API shows it queued again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersOf, registerImage, removeNetwork, startApi, uniqueNetwork, waitForJobRunning, type Api } from '../harness.js';
import { startInProcessRunner, type InProcessRunner } from './in-process.js';

const network = uniqueNetwork();
let api: Api;
let r: InProcessRunner;

beforeAll(async () => {
  api = await startApi();
  await registerImage(api, 'long', "sh -c 'echo begin; sleep 60; echo end'");
  r = await startInProcessRunner({
    apiUrl: api.url,
    clusterId: api.clusterId,
    clusterToken: api.clusterToken,
    engineSocket: '/var/run/docker.sock',
    network,
    env: { DRAIN_TIMEOUT: '1s' },
  });
}, 90_000);

afterAll(async () => {
  await r?.stop();
  await removeNetwork(network);
  await api?.stop();
});

describe('drain and give-back', () => {
  it('the drain timeout gives the running task back; the API has it queued again', async () => {
    const [id = ''] = await api.client.project.queueTasks([{ code_name: 'long', payload: '', cluster: api.clusterId }], AbortSignal.timeout(5_000));
    const reserved = await r.events.wait('task.reserved', (e) => e.taskId === id);
    await waitForJobRunning(api, id);
    const drained = r.runner.drain();
    expect(r.runner.isDraining).toBe(true);
    const draining = await r.events.wait('runner.draining');
    expect(draining).toEqual({ running: 1, drainTimeoutMs: 1_000 });
    const giving = await r.events.wait('runner.giving_back', undefined, { timeoutMs: 30_000 });
    expect(giving).toEqual({ tasks: [id], why: 'drain timeout reached' });
    await r.events.wait('task.given_back', (e) => e.taskId === id, { timeoutMs: 30_000 });
    await drained;
    await r.events.wait('runner.drained');
    expect(r.finishes.filter((f) => f.taskId === id)).toEqual([{ taskId: id, reservationId: reserved.reservationId, status: 'requeue' }]);
    expect(r.events.of('task.finished', (e) => e.taskId === id)).toEqual([]);
    expect((await api.client.project.getTask(id, AbortSignal.timeout(5_000))).status).toBe('queued');
    // The slot was released only after the container was removed.
    expect(r.events.of('task.released', (e) => e.taskId === id)).toHaveLength(1);
    expect(await containersOf(r.instanceId)).toBe(0);
    expect((await r.metrics.draining.get()).values[0]?.value).toBe(1);
    await api.client.project.cancelTask(id, AbortSignal.timeout(5_000));
    expect(r.listenerErrors).toEqual([]);
  }, 90_000);
});
