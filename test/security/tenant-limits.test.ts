// Issue 13 "go further": what one tenant may create is bounded (codes, clusters, schedules), names
// cannot hide invisible or bidi characters or differ only in Unicode normalisation, deep pagination
// and oversized heartbeats are refused before they cost a scan. /healthz answers throughout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CLUSTERS_PER_PROJECT } from '../../src/server/services/clusters.js';
import { MAX_CODES_PER_PROJECT } from '../../src/server/services/codes.js';
import { call, registerCode, startTestServer, type TestServer } from '../server/helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => s?.close());

const register = (name: string) => call(s.url, 'POST', `/2/projects/${s.pid}/codes`, { token: s.token, json: { name, image: 'iron-test/busybox:1' } });

describe('per-tenant limits', () => {
  it(`refuses a code past ${MAX_CODES_PER_PROJECT} per project, but not a new revision`, async () => {
    let worst = 0;
    for (let i = 0; i < MAX_CODES_PER_PROJECT; i++) {
      expect((await register(`c${i}`)).status).toBe(200);
      if (i % 100 === 0) {
        const t0 = Date.now();
        expect((await call(s.url, 'GET', '/healthz')).status).toBe(200);
        worst = Math.max(worst, Date.now() - t0);
      }
    }
    const over = await register('one-too-many');
    expect(over.status).toBe(403);
    expect(String(over.body['msg'])).toMatch(/at most 1000 codes/);
    expect((await register('c7')).body).toMatchObject({ rev: 2 });
    expect(worst).toBeLessThan(3_000);
  }, 120_000);

  it(`refuses a cluster past ${MAX_CLUSTERS_PER_PROJECT} per project`, async () => {
    const create = (name: string) => call(s.url, 'POST', '/2/clusters', { token: s.token, json: { name } });
    // The bootstrap default cluster counts.
    for (let i = 1; i < MAX_CLUSTERS_PER_PROJECT; i++) expect((await create(`k${i}`)).status).toBe(200);
    expect((await create('k-over')).status).toBe(403);
  });

  it('refuses names with invisible, bidi or control characters, or not in NFC', async () => {
    for (const name of ['pay\u200Broll', 'job\u202Egpj.exe', 'tab\there', 'e\u0301te', ' lead', 'bom\uFEFF', 'line\u2028sep']) {
      expect((await register(name)).status, JSON.stringify(name)).toBe(400);
      expect((await call(s.url, 'PUT', `/2/clusters/${s.cid}`, { token: s.token, json: { name } })).status, `cluster ${JSON.stringify(name)}`).toBe(400);
    }
    // Not a quota test: this project is full; another one registers plain unicode fine.
    const other = await s.handle.admin.createProject('unicode');
    const ok = await call(s.url, 'POST', `/2/projects/${other.projectId}/codes`, { token: other.token, json: { name: 'café/été', image: 'iron-test/busybox:1' } });
    expect(ok.status).toBe(200);
  });

  it('refuses deep pages, oversized heartbeats and schedule storms', async () => {
    expect((await call(s.url, 'GET', `/2/projects/${s.pid}/tasks?page=1000000`, { token: s.token })).status).toBe(400);
    expect((await call(s.url, 'GET', `/2/projects/${s.pid}/codes?page=1000&per_page=100`, { token: s.token })).status).toBe(200);
    const items = Array.from({ length: 1025 }, () => ({ id: 'abcdefabcdefabcdefabcdef', reservation_id: 'x' }));
    const hb = await call(s.url, 'POST', `/2/clusters/${s.cid}/runner/heartbeat`, { token: s.ctoken, json: { instance_id: 'i', tasks: items } });
    expect(hb.status).toBe(400);
    await registerCode(s, 'c1').catch(() => undefined);
    const every = await call(s.url, 'POST', `/2/projects/${s.pid}/schedules`, {
      token: s.token,
      json: { schedules: [{ code_name: 'c1', payload: '{}', run_every: 1 }] },
    });
    expect(every.status).toBe(400);
    const many = Array.from({ length: 101 }, () => ({ code_name: 'c1', payload: '{}', run_every: 60 }));
    expect((await call(s.url, 'POST', `/2/projects/${s.pid}/schedules`, { token: s.token, json: { schedules: many } })).status).toBe(400);
  });
});
