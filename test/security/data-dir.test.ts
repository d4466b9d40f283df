// Issue 13 item 9: the data dir is iron-api's alone (0700, files 0600, fixed on every start), and
// registry passwords are sealed at rest with the data dir's 0600 key: iron.db alone holds none.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { serverConfig } from '../../src/config/server.js';
import { silentLogger } from '../../src/log.js';
import { startServer } from '../../src/server/start.js';
import { call, queue, registerCode, reserve, type TestServer } from '../server/helpers.js';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
const PASSWORD = 'canary-registry-password-7f3a9c';
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function modesUnder(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>([[dir, (await stat(dir)).mode & 0o777]]);
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    out.set(p, (await stat(p)).mode & 0o777);
  }
  return out;
}

async function serve(dir: string): Promise<TestServer> {
  const handle = await startServer({ config: serverConfig({ port: 0, dataDir: dir }), log: silentLogger() });
  const b = handle.bootstrap;
  return {
    handle, dir, url: handle.url, pid: b?.projectId ?? '', token: b?.projectToken ?? '', cid: b?.clusterId ?? '', ctoken: b?.clusterToken ?? '',
    close: () => handle.close(),
  };
}

async function seed(s: TestServer): Promise<void> {
  const auth = Buffer.from(JSON.stringify({ username: 'u', password: PASSWORD, serveraddress: 'registry.example.com' })).toString('base64');
  expect((await call(s.url, 'POST', `/2/projects/${s.pid}/credentials`, { token: s.token, json: { auth } })).status).toBe(200);
  await registerCode(s, 'perm', { image: 'registry.example.com/team/job:1' });
  await queue(s, [{ code_name: 'perm', payload: '{}' }]);
  const [t] = await reserve(s, 1);
  expect(t?.['docker_auth']).toMatchObject({ password: PASSWORD });
  const r = await call(s.url, 'POST', `/2/clusters/${s.cid}/runner/tasks/${t?.id ?? ''}/log?offset=0&reservation_id=${t?.reservation_id ?? ''}`, {
    token: s.ctoken, body: 'secret output\n', type: 'application/octet-stream',
  });
  expect(r.status).toBe(200);
}

describe('data dir permissions and sealed registry passwords', () => {
  it('creates 0700 dirs and 0600 files, and iron.db holds no registry password', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iron-perm-'));
    dirs.push(dir);
    const s = await serve(dir);
    try {
      await seed(s);
    } finally {
      await s.close();
    }
    const modes = await modesUnder(dir);
    expect([...modes].filter(([, m]) => (m & 0o077) !== 0), 'entries open to group/others').toEqual([]);
    expect(modes.get(dir)).toBe(0o700);
    expect(modes.get(join(dir, 'iron.db'))).toBe(0o600);
    expect(modes.get(join(dir, 'secret.key'))).toBe(0o600);
    expect(modes.get(join(dir, 'logs'))).toBe(0o700);
    for (const f of ['iron.db', 'iron.db-wal']) {
      const bytes = await readFile(join(dir, f)).catch(() => Buffer.alloc(0));
      expect(bytes.includes(PASSWORD), `${f} holds the password`).toBe(false);
    }
  });

  it('tightens a data dir left readable by an earlier version and seals its clear passwords', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iron-perm-old-'));
    dirs.push(dir);
    const first = await serve(dir);
    await seed(first);
    await first.close();
    // What an earlier iron-api left: 0755/0644 and a password stored as plain JSON.
    const db = new DatabaseSync(join(dir, 'iron.db'));
    db.prepare('UPDATE credentials SET auth = ?').run(JSON.stringify({ username: 'u', password: PASSWORD, serveraddress: 'registry.example.com' }));
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    db.close();
    await writeFile(join(dir, 'stray.txt'), 'x');
    for (const [p] of await modesUnder(dir)) await chmod(p, (await stat(p)).isDirectory() ? 0o755 : 0o644);
    const again = await serve(dir);
    try {
      // Same project and cluster as before (no new bootstrap): the sealed password still reaches the runner.
      const s = { ...again, pid: first.pid, token: first.token, cid: first.cid, ctoken: first.ctoken };
      await queue(s, [{ code_name: 'perm', payload: '{}' }]);
      const [t] = await reserve(s, 1);
      expect(t?.['docker_auth']).toMatchObject({ password: PASSWORD });
    } finally {
      await again.close();
    }
    const modes = await modesUnder(dir);
    expect([...modes].filter(([, m]) => (m & 0o077) !== 0)).toEqual([]);
    const raw = await readFile(join(dir, 'iron.db'));
    expect(raw.includes(PASSWORD)).toBe(false);
  });

  it('the iron-api program runs with umask 0077', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iron-perm-proc-'));
    dirs.push(dir);
    const proc = spawn(process.execPath, [join(REPO_ROOT, 'dist/src/server/main.js'), '--port', '0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('iron-api did not start')), 20_000);
        let err = '';
        proc.stderr.on('data', (c: Buffer) => {
          err += c.toString();
          if (err.includes('iron-api listening')) {
            clearTimeout(t);
            resolve();
          }
        });
      });
      const umask = (await readFile(`/proc/${proc.pid ?? 0}/status`, 'utf8')).match(/^Umask:\s+(\d+)/m)?.[1];
      expect(umask).toBe('0077');
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    }
    expect([...(await modesUnder(dir))].filter(([, m]) => (m & 0o077) !== 0)).toEqual([]);
  });
});
