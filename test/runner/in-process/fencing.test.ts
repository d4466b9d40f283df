// Runner-side fencing (src/runner/heartbeat.ts): when heartbeats cannot renew the leases, the runner
// stops the task itself before its lease runs out, and never reports it (the server may have given
// it to another runner by then). A real iron-api behind a proxy that is cut on demand, the real
// engine, the Runner built in-process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_TASK } from '../../../src/sandbox/index.js';
import { LABEL_ROLE } from '../../../src/sandbox/labels.js';
import { startChaosProxy, type ChaosProxy } from '../../helpers/chaos-proxy.js';
import { testDocker } from '../../helpers/docker.js';
import { registerImage, removeNetwork, startApi, uniqueNetwork, waitForJobRunning, waitForTask, type Api } from '../harness.js';
import { startInProcessRunner, type InProcessRunner } from './in-process.js';

const network = uniqueNetwork();
let api: Api;
let proxy: ChaosProxy;
let r: InProcessRunner;

beforeAll(async () => {
  // A lease the runner honours (at least 5 s): it fences 2 s before the lease runs out.
  api = await startApi({ leaseMs: 6_000 });
  await registerImage(api, 'sleeper', "sh -c 'echo started; sleep 60'");
  proxy = await startChaosProxy(api.handle.port, { maxDelayMs: 0, dropConnection: 0, cutPerChunk: 0 });
  r = await startInProcessRunner({ apiUrl: proxy.url, clusterId: api.clusterId, clusterToken: api.clusterToken, engineSocket: '/var/run/docker.sock', network });
}, 90_000);

afterAll(async () => {
  proxy?.set({ dropConnection: 0, cutPerChunk: 0 });
  await r?.stop();
  await proxy?.close();
  await removeNetwork(network);
  await api?.stop();
});

describe('fencing when heartbeats fail', () => {
  it('stops the task before its lease runs out and does not report it', async () => {
    const [id = ''] = await api.client.project.queueTasks([{ code_name: 'sleeper', payload: '', cluster: api.clusterId }], AbortSignal.timeout(5_000));
    await waitForJobRunning(api, id);
    // Every connection to the API is now refused or cut: no heartbeat renews the lease.
    proxy.set({ dropConnection: 1, cutPerChunk: 1 });
    await r.events.wait('task.fenced', (e) => e.taskId === id, { timeoutMs: 30_000 });
    expect(r.events.of('heartbeat.failed').length).toBeGreaterThan(0);
    // The slot is free only once the container is stopped and removed.
    await r.events.wait('task.released', (e) => e.taskId === id, { timeoutMs: 30_000 });
    const running = await testDocker().listContainers({ filters: { label: [`${LABEL_TASK}=${id}`, `${LABEL_ROLE}=job`] } });
    expect(running).toEqual([]);
    // Not reported: no finish was even attempted, and no outcome event for it.
    expect(r.finishes.filter((f) => f.taskId === id)).toEqual([]);
    expect(r.events.of('task.finished', (e) => e.taskId === id)).toEqual([]);
    expect(r.events.of('task.given_back', (e) => e.taskId === id)).toEqual([]);
    // The server sees the lease run out and queues it again: nobody reported it.
    const t = await waitForTask(api, id, new Set(['queued']), 30_000);
    expect(t.status).toBe('queued');
    await api.client.project.cancelTask(id, AbortSignal.timeout(5_000));
    expect(r.listenerErrors).toEqual([]);
  }, 120_000);
});
