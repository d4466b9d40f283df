// Engine-down gating: a task that meets an unreachable engine is given back, and the runner reserves
// nothing until the engine answers again (it would only hand every task back); then it takes the
// task again and runs it. The engine is the real one behind a gate the test closes and opens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineGate, type EngineGate } from '../../helpers/fake-engine.js';
import { registerImage, removeNetwork, startApi, uniqueNetwork, waitForTask, type Api } from '../harness.js';
import { startInProcessRunner, type InProcessRunner } from './in-process.js';

const network = uniqueNetwork();
let api: Api;
let gate: EngineGate;
let r: InProcessRunner;

beforeAll(async () => {
  api = await startApi();
  await registerImage(api, 'quick', "sh -c 'echo ran'");
  gate = await startEngineGate();
  r = await startInProcessRunner({ apiUrl: api.url, clusterId: api.clusterId, clusterToken: api.clusterToken, engineSocket: gate.socket, network });
}, 90_000);

afterAll(async () => {
  gate?.up();
  await r?.stop();
  await gate?.close();
  await removeNetwork(network);
  await api?.stop();
});

describe('engine-down gating', () => {
  it('reserves nothing while the engine is unreachable, and takes the task again once it answers', async () => {
    gate.down();
    const [id = ''] = await api.client.project.queueTasks([{ code_name: 'quick', payload: '', cluster: api.clusterId }], AbortSignal.timeout(5_000));
    const first = await r.events.wait('task.reserved', (e) => e.taskId === id);
    await r.events.wait('engine.down');
    const back = await r.events.wait('task.given_back', (e) => e.taskId === id);
    // The engine failed under the task, not the task: given back as such.
    expect(back.why).toBe('engine');
    await r.events.wait('task.released', (e) => e.taskId === id);
    // The slot is free and the task is queued again, but the runner only pings the engine: several
    // pings turned away, and not one reserve call in that time.
    const reserves = r.reserves();
    await gate.turnedAway(gate.turnedAwayCount + 3);
    expect(r.reserves()).toBe(reserves);
    expect((await api.client.project.getTask(id, AbortSignal.timeout(5_000))).status).toBe('queued');
    expect(r.events.of('task.reserved', (e) => e.taskId === id)).toHaveLength(1);
    expect(r.events.of('engine.up')).toEqual([]);

    gate.up();
    await r.events.wait('engine.up', undefined, { timeoutMs: 30_000 });
    const again = await r.events.wait('task.reserved', (e) => e.taskId === id, { nth: 2, timeoutMs: 30_000 });
    expect(again.reservationId).not.toBe(first.reservationId);
    await r.events.wait('task.finished', (e) => e.taskId === id, { timeoutMs: 60_000 });
    expect((await waitForTask(api, id)).status).toBe('complete');
    expect(r.finishes.filter((f) => f.taskId === id).map((f) => f.status)).toEqual(['requeue', 'complete']);
    expect(r.listenerErrors).toEqual([]);
  }, 120_000);
});
