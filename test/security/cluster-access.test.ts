// Issue 13 item 3: a project may use its own clusters and the shared default cluster, nothing else.
// Another tenant's private cluster is refused on every route that takes a cluster (queue, webhook,
// schedules, task filter, cluster get/update/delete/credentials/stats) and answered like a missing
// one; the victim's runner never sees the attacker's tasks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, registerCode, reserve, startTestServer, type TestServer } from '../server/helpers.js';

let s: TestServer;
let victim: { projectId: string; token: string };
let victimCluster: { clusterId: string; token: string };

beforeAll(async () => {
  s = await startTestServer();
  victim = await s.handle.admin.createProject('victim');
  victimCluster = await s.handle.admin.createCluster(victim.projectId, 'private');
  await registerCode(s, 'attack');
});
afterAll(async () => s?.close());

describe('cluster access', () => {
  it("refuses another project's private cluster by id and by name on every queueing route", async () => {
    const p = `/2/projects/${s.pid}`;
    for (const cluster of [victimCluster.clusterId, 'private']) {
      const q = await call(s.url, 'POST', `${p}/tasks`, { token: s.token, json: { tasks: [{ code_name: 'attack', payload: '{}', cluster }] } });
      expect(q.status, `queue onto ${cluster}`).toBe(404);
      const w = await call(s.url, 'POST', `${p}/tasks/webhook?code_name=attack&cluster=${cluster}`, { token: s.token, body: 'x' });
      expect(w.status, `webhook onto ${cluster}`).toBe(404);
      const sc = await call(s.url, 'POST', `${p}/schedules`, {
        token: s.token,
        json: { schedules: [{ code_name: 'attack', payload: '{}', cluster, run_every: 60 }] },
      });
      expect(sc.status, `schedule onto ${cluster}`).toBe(404);
      const list = await call<{ tasks: unknown[] }>(s.url, 'GET', `${p}/tasks?cluster=${cluster}`, { token: s.token });
      expect(list.body.tasks).toEqual([]);
    }
    // Nothing reached the victim's runner.
    expect(await reserve(s, 10, 0, 'victim-runner', victimCluster.clusterId, victimCluster.token)).toEqual([]);
  });

  it("hides another project's cluster on the cluster routes (404, as if it did not exist)", async () => {
    const path = `/2/clusters/${victimCluster.clusterId}`;
    expect((await call(s.url, 'GET', path, { token: s.token })).status).toBe(404);
    expect((await call(s.url, 'PUT', path, { token: s.token, json: { name: 'mine' } })).status).toBe(404);
    expect((await call(s.url, 'DELETE', path, { token: s.token, json: {} })).status).toBe(404);
    expect((await call(s.url, 'GET', `${path}/credentials`, { token: s.token })).status).toBe(404);
    expect((await call(s.url, 'GET', `${path}/stats`, { token: s.token })).status).toBe(404);
    // The owner still manages it.
    expect((await call(s.url, 'GET', path, { token: victim.token })).status).toBe(200);
  });

  it('lets every project use the shared default cluster, but only its owner manage it', async () => {
    const code = await call(s.url, 'POST', `/2/projects/${victim.projectId}/codes`, { token: victim.token, json: { name: 'v', image: 'iron-test/busybox:1' } });
    expect(code.status).toBe(200);
    const q = await call(s.url, 'POST', `/2/projects/${victim.projectId}/tasks`, { token: victim.token, json: { tasks: [{ code_name: 'v', payload: '{}' }] } });
    expect(q.status).toBe(200);
    const byId = await call(s.url, 'POST', `/2/projects/${victim.projectId}/tasks`, { token: victim.token, json: { tasks: [{ code_name: 'v', payload: '{}', cluster: s.cid }] } });
    expect(byId.status).toBe(200);
    expect((await call(s.url, 'GET', `/2/clusters/${s.cid}`, { token: victim.token })).status).toBe(200);
    expect((await call(s.url, 'DELETE', `/2/clusters/${s.cid}`, { token: victim.token, json: {} })).status).toBe(403);
    expect((await reserve(s, 10, 0)).length).toBe(2);
  });
});
