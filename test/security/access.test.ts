// Access control matrix: every route of iron-api (read from the real router, so a new route without
// an entry here fails) called by every kind of caller. Only the right scope gets past auth; a missing
// or unknown token is 401, a valid token of the wrong scope 403; every refusal is a JSON {"msg"}
// with no stack and no token in it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRouter } from '../../src/server/app.js';
import { startTestServer, type TestServer } from '../server/helpers.js';

type Scope = 'public' | 'anyToken' | 'project' | 'projectRoot' | 'clusterOwner' | 'clusterRead' | 'runner';

/** Route pattern -> who may call it. Keep in step with src/server/routes/*.ts. */
const MATRIX: Readonly<Record<string, Scope>> = {
  'GET /healthz': 'public',
  'GET /metrics': 'public',
  'GET /2/stacks': 'anyToken',
  'GET /': 'public',
  'GET /2/whoami': 'projectRoot',
  'GET /2/projects/:pid': 'project',
  'POST /2/projects/:pid/credentials': 'project',
  'POST /2/projects/:pid/codes': 'project',
  'GET /2/projects/:pid/codes': 'project',
  'GET /2/projects/:pid/codes/:id': 'project',
  'DELETE /2/projects/:pid/codes/:id': 'project',
  'GET /2/projects/:pid/codes/:id/revisions': 'project',
  'GET /2/projects/:pid/codes/:id/download': 'project',
  'GET /2/projects/:pid/codes/:id/stats': 'project',
  'POST /2/projects/:pid/codes/:id/pause_task_queue': 'project',
  'POST /2/projects/:pid/codes/:id/resume_task_queue': 'project',
  'POST /2/projects/:pid/codes/:id/cancel_all': 'project',
  'POST /2/projects/:pid/tasks': 'project',
  'POST /2/projects/:pid/tasks/webhook': 'project',
  'GET /2/projects/:pid/tasks': 'project',
  'GET /2/projects/:pid/tasks/:id': 'project',
  'GET /2/projects/:pid/tasks/:id/log': 'project',
  'GET /2/projects/:pid/tasks/:id/outlog': 'project',
  'POST /2/projects/:pid/tasks/:id/cancel': 'project',
  'POST /2/projects/:pid/tasks/:id/retry': 'project',
  'POST /2/projects/:pid/tasks/:id/progress': 'project',
  'POST /2/projects/:pid/schedules': 'project',
  'GET /2/projects/:pid/schedules': 'project',
  'GET /2/projects/:pid/schedules/:id': 'project',
  'PUT /2/projects/:pid/schedules/:id': 'project',
  'POST /2/projects/:pid/schedules/:id/cancel': 'project',
  'GET /2/clusters': 'projectRoot',
  'POST /2/clusters': 'projectRoot',
  'GET /2/clusters/:cid': 'clusterRead',
  'PUT /2/clusters/:cid': 'clusterOwner',
  'DELETE /2/clusters/:cid': 'clusterOwner',
  'GET /2/clusters/:cid/credentials': 'clusterOwner',
  'GET /2/clusters/:cid/stats': 'clusterOwner',
  'POST /2/clusters/:cid/runner/reserve': 'runner',
  'POST /2/clusters/:cid/runner/release': 'runner',
  'POST /2/clusters/:cid/runner/heartbeat': 'runner',
  'POST /2/clusters/:cid/runner/tasks/:tid/start': 'runner',
  'POST /2/clusters/:cid/runner/tasks/:tid/log': 'runner',
  'GET /2/clusters/:cid/runner/tasks/:tid/code': 'runner',
  'POST /2/clusters/:cid/runner/tasks/:tid/finish': 'runner',
  'POST /2/clusters/:cid/runner/tasks/:tid/finish-with-log': 'runner',
};

type Caller = 'none' | 'bad' | 'ownProject' | 'otherProject' | 'ownCluster' | 'otherCluster' | 'revokedCluster' | 'ownProjectQuery' | 'badQuery';
const CALLERS: readonly Caller[] = ['none', 'bad', 'ownProject', 'otherProject', 'ownCluster', 'otherCluster', 'revokedCluster', 'ownProjectQuery', 'badQuery'];

/** 'ok' = past auth (2xx, or a 4xx about the dummy ids/body, never 401/403). */
function expected(scope: Scope, caller: Caller): 'ok' | 401 | 403 | 404 {
  if (scope === 'public') return 'ok';
  if (caller === 'none' || caller === 'bad' || caller === 'revokedCluster' || caller === 'badQuery') return 401;
  const proj = caller === 'ownProject' || caller === 'ownProjectQuery';
  switch (scope) {
    case 'anyToken':
      return 'ok';
    case 'project':
      return proj ? 'ok' : 403;
    case 'projectRoot':
      return proj || caller === 'otherProject' ? 'ok' : 403;
    // Another project's private cluster is answered like a missing one (no id oracle).
    case 'clusterOwner':
      return proj ? 'ok' : caller === 'otherProject' ? 404 : 403;
    case 'clusterRead':
      return proj || caller === 'ownCluster' ? 'ok' : caller === 'otherProject' ? 404 : 403;
    case 'runner':
      return caller === 'ownCluster' ? 'ok' : 403;
  }
}

let s: TestServer;
let tokens: Record<Caller, string | undefined>;
let target = '';
const DUMMY = 'abcdefabcdefabcdefabcdef';

beforeAll(async () => {
  s = await startTestServer();
  const other = await s.handle.admin.createProject('other tenant');
  const otherCluster = await s.handle.admin.createCluster(other.projectId, 'other');
  const revoked = await s.handle.admin.createCluster(s.pid, 'revoked');
  // The matrix targets its own cluster, so the owner's DELETE cannot take the bootstrap cluster away.
  const own = await s.handle.admin.createCluster(s.pid, 'target');
  target = own.clusterId;
  const del = await fetch(`${s.url}/2/clusters/${revoked.clusterId}`, { method: 'DELETE', headers: { authorization: `OAuth ${s.token}` } });
  expect(del.status).toBe(200);
  tokens = {
    none: undefined,
    bad: 'not-a-real-token-0123456789abcdef',
    ownProject: s.token,
    otherProject: other.token,
    ownCluster: own.token,
    otherCluster: otherCluster.token,
    revokedCluster: revoked.token,
    ownProjectQuery: s.token,
    badQuery: 'not-a-real-token-query',
  };
});

afterAll(async () => {
  await s?.close();
});

function routeNames(): string[] {
  // The router keeps its table private; reading it is the only way to notice an unlisted route.
  const routes = (buildRouter() as unknown as { routes: Array<{ method: string; name: string }> }).routes;
  return routes.map((r) => `${r.method} ${r.name}`);
}

function concretePath(pattern: string): string {
  return pattern.replace(':pid', s.pid).replace(':cid', target).replace(':tid', DUMMY).replace(':id', DUMMY);
}

async function callAs(route: string, caller: Caller): Promise<{ status: number; text: string; type: string }> {
  const [method = 'GET', pattern = '/'] = route.split(' ');
  let path = concretePath(pattern);
  if (route.endsWith('/log') && method === 'POST') path += '?offset=0';
  const headers: Record<string, string> = {};
  const token = tokens[caller];
  if (token !== undefined) {
    if (caller.endsWith('Query')) path += `${path.includes('?') ? '&' : '?'}oauth=${encodeURIComponent(token)}`;
    else headers['authorization'] = `OAuth ${token}`;
  }
  const withBody = method === 'POST' || method === 'PUT';
  if (withBody) headers['content-type'] = 'application/json';
  const res = await fetch(`${s.url}${path}`, { method, headers, ...(withBody ? { body: '{}' } : {}), signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

describe('access control matrix', () => {
  it('has an entry for every route the server serves', () => {
    const served = routeNames();
    expect(served.filter((r) => MATRIX[r] === undefined)).toEqual([]);
    expect(Object.keys(MATRIX).filter((r) => !served.includes(r))).toEqual([]);
  });

  it('lets only the right scope through, with {"msg"} refusals that echo no token', async () => {
    const allTokens = Object.values(tokens).filter((t): t is string => t !== undefined);
    // The owner's DELETE removes the target cluster: run it last.
    const order = routeNames().sort((a, b) => Number(a === 'DELETE /2/clusters/:cid') - Number(b === 'DELETE /2/clusters/:cid'));
    const failures: string[] = [];
    let calls = 0;
    const byStatus = new Map<number, number>();
    for (const route of order) {
      const scope = MATRIX[route] ?? 'public';
      // Within the DELETE route, the owner goes last as well.
      const callers = [...CALLERS].sort((a, b) => Number(expected(scope, a) === 'ok') - Number(expected(scope, b) === 'ok'));
      for (const caller of callers) {
        const want = expected(scope, caller);
        const got = await callAs(route, caller);
        calls++;
        byStatus.set(got.status, (byStatus.get(got.status) ?? 0) + 1);
        const where = `${route} as ${caller}: ${got.status} ${got.text.slice(0, 120)}`;
        if (want === 'ok' ? got.status === 401 || got.status === 403 || got.status >= 500 : got.status !== want) failures.push(`want ${want}, ${where}`);
        if (got.status >= 400) {
          let msg: unknown;
          try {
            msg = (JSON.parse(got.text) as { msg?: unknown }).msg;
          } catch {
            msg = undefined;
          }
          if (typeof msg !== 'string' || msg === '' || !got.type.includes('application/json')) failures.push(`no {"msg"} body: ${where}`);
        }
        if (/\bat .+:\d+:\d+\)?/.test(got.text) || got.text.includes('node_modules')) failures.push(`stack trace: ${where}`);
        if (allTokens.some((t) => got.text.includes(t))) failures.push(`token echoed: ${where}`);
      }
    }
    const summary = [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
    console.log(`[security] access matrix: routes=${order.length} callers=${CALLERS.length} requests=${calls} statuses ${summary} violations=${failures.length}`);
    expect(failures).toEqual([]);
  }, 120_000);

  it('a revoked (deleted) cluster token cannot reserve, and a deleted cluster is gone for its owner', async () => {
    const got = await callAs('GET /2/clusters/:cid', 'ownProject');
    expect(got.status).toBe(404);
    const runnerCall = await fetch(`${s.url}/2/clusters/${target}/runner/reserve`, {
      method: 'POST',
      headers: { authorization: `OAuth ${tokens.ownCluster ?? ''}`, 'content-type': 'application/json' },
      body: '{"instance_id":"i"}',
    });
    expect(runnerCall.status).toBe(401);
  });
});
