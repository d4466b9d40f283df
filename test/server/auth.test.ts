import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, registerCode, startTestServer, type TestServer } from './helpers.js';

let s: TestServer;
let other: { projectId: string; token: string };
beforeAll(async () => {
  s = await startTestServer({ maxPayloadBytes: 1024 });
  other = await s.handle.admin.createProject('other');
  await registerCode(s, 'hello');
});
afterAll(async () => s.close());

describe('auth scopes', () => {
  it("refuses a deleted cluster's token at once, though it was just used (the token cache forgets it)", async () => {
    const c = await call<{ id: string; token: string }>(s.url, 'POST', '/2/clusters', { token: s.token, json: { name: 'short-lived' } });
    const own = `/2/clusters/${c.body.id}`;
    // Used twice: the second answer may come from the remembered token.
    expect((await call(s.url, 'GET', own, { token: c.body.token })).status).toBe(200);
    expect((await call(s.url, 'GET', own, { token: c.body.token })).status).toBe(200);
    expect((await call(s.url, 'DELETE', own, { token: s.token, json: {} })).status).toBe(200);
    expect((await call(s.url, 'GET', own, { token: c.body.token })).status).toBe(401);
    const r = await call(s.url, 'POST', `${own}/runner/heartbeat`, { token: c.body.token, json: { instance_id: 'i', tasks: [] } });
    expect(r.status).toBe(401);
  });

  it('401 without or with a wrong token, with a msg body', async () => {
    const none = await call(s.url, 'GET', `/2/projects/${s.pid}/tasks`);
    expect(none.status).toBe(401);
    expect(typeof none.body['msg']).toBe('string');
    expect((await call(s.url, 'GET', `/2/projects/${s.pid}/tasks`, { token: 'nope' })).status).toBe(401);
  });

  it('accepts the OAuth header and ?oauth=', async () => {
    expect((await call(s.url, 'GET', `/2/projects/${s.pid}`, { token: s.token })).status).toBe(200);
    const q = await call(s.url, 'GET', `/2/projects/${s.pid}?oauth=${s.token}`);
    expect(q.status).toBe(200);
    expect(q.body['name']).toBe('default');
  });

  it('403 for another project, for a cluster token on the project API, for a project token on the runner protocol', async () => {
    expect((await call(s.url, 'GET', `/2/projects/${s.pid}/tasks`, { token: other.token })).status).toBe(403);
    expect((await call(s.url, 'GET', `/2/projects/${other.projectId}/tasks`, { token: other.token })).status).toBe(200);
    expect((await call(s.url, 'GET', `/2/projects/${s.pid}/tasks`, { token: s.ctoken })).status).toBe(403);
    expect((await call(s.url, 'POST', '/2/clusters', { token: s.ctoken, json: { name: 'x' } })).status).toBe(403);
    const r = await call(s.url, 'POST', `/2/clusters/${s.cid}/runner/reserve`, { token: s.token, json: { instance_id: 'i', n: 1 } });
    expect(r.status).toBe(403);
    // The cluster token may read its own cluster (runner startup check), not others.
    expect((await call(s.url, 'GET', `/2/clusters/${s.cid}`, { token: s.ctoken })).status).toBe(200);
    const mine = await call<{ id: string }>(s.url, 'POST', '/2/clusters', { token: other.token, json: { name: 'theirs' } });
    expect((await call(s.url, 'GET', `/2/clusters/${mine.body.id}`, { token: s.ctoken })).status).toBe(403);
    // Another project's private cluster is answered like a missing one (cluster-access.ts).
    expect((await call(s.url, 'GET', `/2/clusters/${mine.body.id}`, { token: s.token })).status).toBe(404);
  });
});

describe('bad input', () => {
  const tasks = (body: string, type = 'application/json') => call(s.url, 'POST', `/2/projects/${s.pid}/tasks`, { token: s.token, body, type });

  it('invalid JSON -> 400, missing Content-Type -> 406', async () => {
    expect((await tasks('{"tasks":[')).status).toBe(400);
    const r = await call(s.url, 'POST', `/2/projects/${s.pid}/tasks`, { token: s.token, body: '{"tasks":[]}' });
    expect(r.status).toBe(406);
    expect(r.body['msg']).toMatch(/Content-Type/);
  });

  it('wrong field types, unknown code, oversized payload: 4xx and nothing queued', async () => {
    const before = await call<{ tasks: unknown[] }>(s.url, 'GET', `/2/projects/${s.pid}/tasks`, { token: s.token });
    const cases: [string, number][] = [
      [JSON.stringify({ tasks: [{ code_name: 'hello' }, { code_name: 'hello', priority: 'high' }] }), 400],
      [JSON.stringify({ tasks: [{ code_name: 'hello', payload: { a: 1 } }] }), 400],
      [JSON.stringify({ tasks: [{ code_name: 'hello' }, { code_name: 'nope' }] }), 404],
      [JSON.stringify({ tasks: [{ code_name: 'hello', payload: 'x'.repeat(2000) }] }), 413],
      [JSON.stringify({ tasks: [{ code_name: 'hello', delay: -1 }] }), 400],
      [JSON.stringify({ tasks: [{ code_name: 'hello', timeout: 99999 }] }), 400],
      [JSON.stringify({ tasks: 'x' }), 400],
      ['[1,2]', 400],
    ];
    for (const [body, status] of cases) {
      const r = await tasks(body);
      expect(r.status, body.slice(0, 80)).toBe(status);
      expect(typeof r.body['msg']).toBe('string');
    }
    const after = await call<{ tasks: unknown[] }>(s.url, 'GET', `/2/projects/${s.pid}/tasks`, { token: s.token });
    expect(after.body.tasks.length).toBe(before.body.tasks.length);
  });

  it('bad ids, per_page > 100, unknown endpoints and methods', async () => {
    expect((await call(s.url, 'GET', `/2/projects/${s.pid}/tasks/xyz`, { token: s.token })).status).toBe(404);
    expect((await call(s.url, 'GET', `/2/projects/${s.pid}/tasks/0123456789abcdef01234567`, { token: s.token })).status).toBe(404);
    expect((await call(s.url, 'GET', `/2/projects/${s.pid}/tasks?per_page=101`, { token: s.token })).status).toBe(400);
    expect((await call(s.url, 'GET', `/2/projects/${s.pid}/nothing`, { token: s.token })).status).toBe(404);
    expect((await call(s.url, 'PATCH', `/2/projects/${s.pid}/tasks`, { token: s.token })).status).toBe(405);
  });

  it('code registration without name or image, config too large', async () => {
    const post = (json: unknown) => call(s.url, 'POST', `/2/projects/${s.pid}/codes`, { token: s.token, json });
    expect((await post({ image: 'x' })).status).toBe(400);
    expect((await post({ name: 'x' })).status).toBe(400);
    expect((await post({ name: 'x', image: 'x', config: 'c'.repeat(2000) })).status).toBe(413);
    expect((await post({ name: 'x', image: 'x', env_vars: { A: { b: 1 } } })).status).toBe(400);
  });
});
