// iron-api as a real process on PostgreSQL: it bootstraps the empty database, the offline admin
// commands work against the same database, and the URL's password appears in no output.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnApiProcess, type ApiProcess } from '../../helpers/api-process.js';
import { call } from '../../helpers/http.js';
import { startPostgres, type Postgres } from '../../helpers/postgres.js';
import { REPO_ROOT } from '../../helpers/vectors.js';

const PASSWORD = 'pw-never-logged-7f3a';

describe('iron-api process on PostgreSQL', () => {
  let server: Postgres;
  let api: ApiProcess;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    server = await startPostgres();
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`CREATE ROLE iron LOGIN PASSWORD '${PASSWORD}'`);
    await admin.query('CREATE DATABASE iron_proc OWNER iron');
    await admin.end();
    url = server.url.replace('postgres@', `iron:${PASSWORD}@`).replace(/\/postgres$/, '/iron_proc');
    dir = await mkdtemp(join(tmpdir(), 'iron-pg-admin-'));
    api = await spawnApiProcess({ databaseUrl: url });
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
    await rm(dir, { recursive: true, force: true });
    await server?.stop();
  });

  it('bootstraps, and token create / cluster create work against the same database', async () => {
    const creds = api.credentials;
    if (creds === null) throw new Error('no bootstrap on an empty database');
    expect(api.stdout()).not.toContain(PASSWORD);
    const run = (args: string[]): { code: number | null; stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist/src/server/main.js'), ...args, '--data-dir', dir, '--database-url', url], {
        encoding: 'utf8',
        timeout: 30_000,
        env: { PATH: process.env['PATH'] ?? '' },
      });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const tok = run(['token', 'create', '--project-id', creds.projectId]);
    expect(tok.code, tok.stderr).toBe(0);
    expect(tok.stdout + tok.stderr).not.toContain(PASSWORD);
    const token = (JSON.parse(tok.stdout) as { token: string }).token;
    expect((await call(api.url, 'GET', `/2/projects/${creds.projectId}/codes`, { token })).status).toBe(200);
    const cl = run(['cluster', 'create', '--project-id', creds.projectId, '--name', 'second']);
    expect(cl.code, cl.stderr).toBe(0);
    const c = JSON.parse(cl.stdout) as { cluster_id: string; token: string };
    expect((await call(api.url, 'GET', `/2/clusters/${c.cluster_id}`, { token })).status).toBe(200);
  });
});
