// Issue 13 item 9: the data dir is iron-api's alone (0700, files 0600, fixed on every start), and
// registry passwords are sealed at rest with the data dir's 0600 key: iron.db alone holds none.
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { startApi, type Api } from '../helpers/api.js';
import { spawnApiProcess } from '../helpers/api-process.js';
import { call } from '../helpers/http.js';
import { appendLog, queue, registerCode, reserve } from '../helpers/queue.js';
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

async function seed(s: Api): Promise<void> {
  const auth = Buffer.from(JSON.stringify({ username: 'u', password: PASSWORD, serveraddress: 'registry.example.com' })).toString('base64');
  expect((await call(s.url, 'POST', `/2/projects/${s.projectId}/credentials`, { token: s.projectToken, json: { auth } })).status).toBe(200);
  await registerCode(s, 'perm', { image: 'registry.example.com/team/job:1' });
  await queue(s, [{ code_name: 'perm', payload: '{}' }]);
  const [t] = await reserve(s, 1);
  expect(t?.['docker_auth']).toMatchObject({ password: PASSWORD });
  const r = await appendLog(s, t?.id ?? '', t?.reservation_id ?? '', 0, 'secret output\n');
  expect(r.status).toBe(200);
}

describe('data dir permissions and sealed registry passwords', () => {
  it('creates 0700 dirs and 0600 files, and iron.db holds no registry password', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iron-perm-'));
    dirs.push(dir);
    const s = await startApi({ dataDir: dir });
    try {
      await seed(s);
    } finally {
      await s.stop();
    }
    const modes = await modesUnder(dir);
    expect(
      [...modes].filter(([, m]) => (m & 0o077) !== 0),
      'entries open to group/others',
    ).toEqual([]);
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
    const first = await startApi({ dataDir: dir });
    await seed(first);
    await first.stop();
    // What an earlier iron-api left: 0755/0644 and a password stored as plain JSON.
    const db = new DatabaseSync(join(dir, 'iron.db'));
    db.prepare('UPDATE credentials SET auth = ?').run(JSON.stringify({ username: 'u', password: PASSWORD, serveraddress: 'registry.example.com' }));
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    db.close();
    await writeFile(join(dir, 'stray.txt'), 'x');
    for (const [p] of await modesUnder(dir)) await chmod(p, (await stat(p)).isDirectory() ? 0o755 : 0o644);
    // Same project and cluster as before (no new bootstrap): the sealed password still reaches the runner.
    const again = await startApi({ dataDir: dir, credentials: first });
    try {
      await queue(again, [{ code_name: 'perm', payload: '{}' }]);
      const [t] = await reserve(again, 1);
      expect(t?.['docker_auth']).toMatchObject({ password: PASSWORD });
    } finally {
      await again.stop();
    }
    const modes = await modesUnder(dir);
    expect([...modes].filter(([, m]) => (m & 0o077) !== 0)).toEqual([]);
    const raw = await readFile(join(dir, 'iron.db'));
    expect(raw.includes(PASSWORD)).toBe(false);
  });

  it('the iron-api program runs with umask 0077', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iron-perm-proc-'));
    dirs.push(dir);
    const api = await spawnApiProcess({ dataDir: dir, port: 0 });
    try {
      const umask = (await readFile(`/proc/${api.pid}/status`, 'utf8')).match(/^Umask:\s+(\d+)/m)?.[1];
      expect(umask).toBe('0077');
    } finally {
      await api.stop();
    }
    expect([...(await modesUnder(dir))].filter(([, m]) => (m & 0o077) !== 0)).toEqual([]);
  });
});
