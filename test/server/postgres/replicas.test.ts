// Several iron-api replicas on one PostgreSQL database: they start together on an empty database
// and bootstrap once, a task queued on one wakes a reserve parked on another, a log written through
// one is read through the other, and no task is handed out twice when runners reserve from both.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverConfig } from '../../../src/config/server.js';
import { silentLogger } from '../../../src/log.js';
import { startServer, type ServerHandle } from '../../../src/server/start.js';
import { call } from '../../helpers/http.js';
import { startPostgres, type Postgres } from '../../helpers/postgres.js';
import { appendLog, queue, registerCode, reserve, runnerPath, type ApiTarget } from '../../helpers/queue.js';

describe('iron-api replicas on one PostgreSQL database', () => {
  let pg: Postgres;
  const handles: ServerHandle[] = [];
  const dirs: string[] = [];
  let a: ApiTarget;
  let b: ApiTarget;

  beforeAll(async () => {
    pg = await startPostgres();
    const url = await pg.createDatabase('replicas');
    const start = async (): Promise<ServerHandle> => {
      const dir = await mkdtemp(join(tmpdir(), 'iron-replica-'));
      dirs.push(dir);
      const h = await startServer({ config: serverConfig({ port: 0, dataDir: dir, database: { url, poolMax: 5, statementTimeoutMs: 30_000 } }), log: silentLogger() });
      handles.push(h);
      return h;
    };
    await Promise.all([start(), start(), start()]);
  }, 120_000);

  afterAll(async () => {
    for (const h of handles) await h.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    await pg?.stop();
  });

  it('bootstraps exactly once when the replicas start together on an empty database', () => {
    const boots = handles.filter((h) => h.bootstrap !== null);
    expect(boots).toHaveLength(1);
    expect(dirs.filter((d) => existsSync(join(d, 'iron.json')))).toHaveLength(1);
    const creds = boots[0]?.bootstrap;
    if (creds === null || creds === undefined) throw new Error('no bootstrap');
    const target = (h: ServerHandle): ApiTarget => ({ url: h.url, projectId: creds.projectId, projectToken: creds.projectToken, clusterId: creds.clusterId, clusterToken: creds.clusterToken });
    [a, b] = [target(handles[0] as ServerHandle), target(handles[1] as ServerHandle)];
  });

  it('a task queued on one replica wakes a reserve parked on another; its log is read on either', async () => {
    await registerCode(a, 'hello');
    const pending = reserve(b, 1, 20);
    await new Promise((r) => setTimeout(r, 300));
    const [id] = await queue(a, [{ code_name: 'hello' }]);
    const got = await pending;
    expect(got.map((t) => t.id)).toEqual([id]);
    const t = got[0];
    if (t === undefined || id === undefined) throw new Error('nothing reserved');
    expect((await appendLog(b, t.id, t.reservation_id, 0, 'from b\n')).status).toBe(200);
    expect((await call(a.url, 'POST', runnerPath(a, t.id, 'finish'), { token: a.clusterToken, json: { reservation_id: t.reservation_id, status: 'complete' } })).status).toBe(200);
    const log = await call(a.url, 'GET', `/2/projects/${a.projectId}/tasks/${id}/log`, { token: a.projectToken });
    expect(log.text).toBe('from b\n');
  });

  it('runners reserving from two replicas at once never get the same task', async () => {
    const ids = await queue(
      a,
      Array.from({ length: 60 }, () => ({ code_name: 'hello' })),
    );
    const seen: string[] = [];
    const runner = async (s: ApiTarget, name: string): Promise<void> => {
      for (;;) {
        const r = await reserve(s, 4, 0, name);
        if (r.length === 0) return;
        seen.push(...r.map((x) => x.id));
      }
    };
    await Promise.all([runner(a, 'ra'), runner(b, 'rb'), runner(a, 'rc'), runner(b, 'rd')]);
    expect(seen.sort()).toEqual([...ids].sort());
  });
});
