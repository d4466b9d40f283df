// An iron-api whose PostgreSQL goes silent (a paused TCP link: connections stay open, nothing
// arrives, as in a network partition) answers 503 ERR_STORE_UNAVAILABLE within seconds instead of
// hanging, on /healthz (what a load balancer asks) and on the v2 API, and a queue call it refused
// left no task. Once the link is back it answers again by itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type Api } from '../../helpers/api.js';
import { startChaosProxy, type ChaosProxy } from '../../helpers/chaos-proxy.js';
import { call } from '../../helpers/http.js';
import { captureLog } from '../../helpers/log-capture.js';
import { startPostgres, type Postgres } from '../../helpers/postgres.js';
import { waitFor } from '../../helpers/wait.js';

describe('iron-api with its PostgreSQL unreachable', () => {
  let pg: Postgres;
  let link: ChaosProxy;
  let api: Api;
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    pg = await startPostgres();
    const url = new URL(await pg.createDatabase('unreachable'));
    link = await startChaosProxy(Number(url.port), { maxDelayMs: 0, dropConnection: 0, cutPerChunk: 0 });
    url.port = new URL(link.url).port;
    api = await startApi({ log: captureLog(lines), overrides: { database: { url: url.toString(), poolMax: 4, statementTimeoutMs: 30_000 } } });
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
    await link?.close();
    await pg?.stop();
  });

  const health = (): Promise<{ status: number; text: string }> => call(api.url, 'GET', '/healthz');
  const queueOne = (payload: string): Promise<{ status: number; text: string }> =>
    call(api.url, 'POST', `/2/projects/${api.projectId}/tasks`, { token: api.projectToken, json: { tasks: [{ code_name: 'unreach', payload, cluster: api.clusterId }] } });
  const tasksWith = async (payload: string): Promise<number> => {
    const r = await call(api.url, 'GET', `/2/projects/${api.projectId}/tasks?code_name=unreach&per_page=100`, { token: api.projectToken });
    expect(r.status).toBe(200);
    const ids = (JSON.parse(r.text) as { tasks: { id: string }[] }).tasks.map((t) => t.id);
    let n = 0;
    for (const id of ids) {
      const t = await call(api.url, 'GET', `/2/projects/${api.projectId}/tasks/${id}`, { token: api.projectToken });
      if ((JSON.parse(t.text) as { payload?: string }).payload === payload) n++;
    }
    return n;
  };

  it('answers 503 while the link is silent, changes nothing, and recovers when it is back', async () => {
    const reg = await call(api.url, 'POST', `/2/projects/${api.projectId}/codes`, { token: api.projectToken, json: { name: 'unreach', image: 'iron-test/busybox:1' } });
    expect(reg.status).toBe(200);
    expect((await health()).status).toBe(200);

    link.set({ paused: true });
    // The first request may wait on a silent connection until the probe cuts it; it still ends in a 503.
    let last = { status: 0, text: '' };
    await waitFor(
      () => `/healthz answers 503 (last: ${last.status} ${last.text.slice(0, 200)})`,
      async () => {
        last = await health();
        return last.status === 503;
      },
      { timeoutMs: 30_000, everyMs: 200 },
    );
    const body = JSON.parse(last.text) as { msg?: unknown };
    expect(Object.keys(body)).toEqual(['msg']);
    expect(String(body.msg)).toMatch(/database is not reachable/);
    const refused = await queueOne('while cut');
    expect(refused.status).toBe(503);
    // No connection details, SQL or credentials in the answer.
    expect(refused.text).not.toMatch(/postgres|password|SELECT|INSERT/i);

    link.set({ paused: false });
    await waitFor('/healthz answers 200 again', async () => (await health()).status === 200, { timeoutMs: 30_000, everyMs: 200 });
    expect((await queueOne('after')).status).toBe(200);
    // The 503 meant "nothing changed": the refused task does not exist.
    expect(await tasksWith('while cut')).toBe(0);
    expect(await tasksWith('after')).toBe(1);
    // The outage is in the log once, as it began and as it ended (the 503s themselves are not logged),
    // in fixed words: no address, user or driver text.
    const said = lines.filter((l) => typeof l['msg'] === 'string' && String(l['msg']).startsWith('PostgreSQL '));
    expect(said.map((l) => [l['level'], l['msg']])).toEqual([
      ['warn', 'PostgreSQL stopped answering: requests that need it get 503 until it answers'],
      ['info', 'PostgreSQL answers again: requests are served'],
    ]);
    expect(JSON.stringify(said)).not.toMatch(/127\.0\.0\.1|postgres:\/\/|password/i);
  }, 120_000);
});
