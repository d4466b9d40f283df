// A task whose lease ran out on the server while the runner still ran it, and that was reserved
// again (here by the same runner): the first run stops and never reports; only the new reservation
// reports. The server's lease (3 s) is below what the runner honours (5 s), so the runner keeps its
// own 60 s lease and does not fence: the lease expires on the server side only, as with a clock
// skew or a long pause. A real iron-api behind a proxy cut on demand, the real engine, the Runner in-process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChaosProxy, type ChaosProxy } from '../../helpers/chaos-proxy.js';
import { registerImage, removeNetwork, startApi, uniqueNetwork, waitForJobRunning, waitForTask, type Api } from '../harness.js';
import { startInProcessRunner, type InProcessRunner } from './in-process.js';

const network = uniqueNetwork();
let api: Api;
let proxy: ChaosProxy;
let r: InProcessRunner;

beforeAll(async () => {
  api = await startApi({ leaseMs: 3_000 });
  // Long enough that the first run is still running when the API comes back.
  await registerImage(api, 'napper', "sh -c 'echo begin; sleep 20; echo end'");
  proxy = await startChaosProxy(api.handle.port, { maxDelayMs: 0, dropConnection: 0, cutPerChunk: 0 });
  r = await startInProcessRunner({
    apiUrl: proxy.url, clusterId: api.clusterId, clusterToken: api.clusterToken, engineSocket: '/var/run/docker.sock', network,
    env: { CONCURRENCY: '2' },
  });
}, 90_000);

afterAll(async () => {
  proxy?.set({ dropConnection: 0, cutPerChunk: 0 });
  await r?.stop();
  await proxy?.close();
  await removeNetwork(network);
  await api?.stop();
});

describe('a task lost, then reserved again', () => {
  it('the first run stops without reporting; the second reservation reports', async () => {
    const [id = ''] = await api.client.project.queueTasks([{ code_name: 'napper', payload: '', cluster: api.clusterId }], AbortSignal.timeout(5_000));
    const first = await r.events.wait('task.reserved', (e) => e.taskId === id);
    await waitForJobRunning(api, id);
    proxy.set({ dropConnection: 1, cutPerChunk: 1 });
    // The server expires the lease and queues the task again (the test's client is not behind the proxy).
    await waitForTask(api, id, new Set(['queued']), 30_000);
    proxy.set({ dropConnection: 0, cutPerChunk: 0 });
    const second = await r.events.wait('task.reserved', (e) => e.taskId === id && e.reservationId !== first.reservationId, { timeoutMs: 30_000 });
    // Later than the first; not necessarily the next: a reserve parked on the server during the outage
    // may have taken the task and had its answer cut, and that reservation expired in turn.
    expect(second.attempt).toBeGreaterThan(first.attempt);
    // The first run's slot frees once its container is gone; it never ran past the new reservation.
    await r.events.wait('task.released', (e) => e.taskId === id, { timeoutMs: 30_000 });
    await r.events.wait('task.finished', (e) => e.taskId === id, { timeoutMs: 60_000 });
    expect((await waitForTask(api, id)).status).toBe('complete');
    await r.events.wait('task.released', (e) => e.taskId === id, { nth: 2, timeoutMs: 30_000 });
    // One report in all, for the second reservation.
    expect(r.finishes.filter((f) => f.taskId === id)).toEqual([{ taskId: id, reservationId: second.reservationId, status: 'complete' }]);
    expect(r.events.of('task.finished', (e) => e.taskId === id)).toHaveLength(1);
    expect(r.listenerErrors).toEqual([]);
  }, 150_000);
});
