// kill -9 of a real iron-api process mid-queue, restart on the same data dir: nothing the server
// acknowledged (queued or finished) is lost. Runs the compiled dist/ (build first).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from './helpers.js';

const MAIN = resolve(import.meta.dirname, '../../dist/src/server/main.js');
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Spawns iron-api and resolves with its URL (from the `url` log line) and its stdout. */
function spawnServer(dataDir: string): Promise<{ child: ChildProcess; url: string; stdout: () => string }> {
  const child = spawn(process.execPath, [MAIN, '--port', '0', '--data-dir', dataDir, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error('iron-api did not start')), 15_000);
    child.on('exit', (code) => reject(new Error(`iron-api exited early: ${code}`)));
    createInterface({ input: child.stderr }).on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { url?: string };
        if (rec.url !== undefined) {
          clearTimeout(timer);
          resolveUrl({ child, url: rec.url, stdout: () => out });
        }
      } catch {
        // not a JSON log line
      }
    });
  });
}

describe('restart after kill -9', () => {
  it('keeps every acknowledged queue and finish', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iron-api-kill-'));
    dirs.push(dir);
    const first = await spawnServer(dir);
    const cfg = JSON.parse(await readFile(join(dir, 'iron.json'), 'utf8')) as { project_id: string; token: string };
    // Give stdout a moment: the credentials are printed right after listening.
    await new Promise((r) => setTimeout(r, 200));
    const cid = /cluster id:\s+(\S+)/.exec(first.stdout())?.[1] ?? '';
    const ctoken = /cluster token:\s+(\S+)/.exec(first.stdout())?.[1] ?? '';
    expect(cid).toMatch(/^[0-9a-f]{24}$/);
    const pid = cfg.project_id;
    await call(first.url, 'POST', `/2/projects/${pid}/codes`, { token: cfg.token, json: { name: 'k', image: 'iron-test/busybox:1' } });

    const acked = new Set<string>();
    const finished = new Set<string>();
    let stop = false;
    const producer = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await call<{ tasks: { id: string }[] }>(first.url, 'POST', `/2/projects/${pid}/tasks`, {
            token: cfg.token, json: { tasks: Array.from({ length: 5 }, (_, j) => ({ code_name: 'k', payload: `${i}-${j}` })) },
          });
          if (r.status === 200) for (const t of r.body.tasks) acked.add(t.id);
        } catch {
          return; // the server died mid-request: that batch was never acknowledged
        }
      }
    })();
    const consumer = (async () => {
      while (!stop) {
        try {
          const r = await call<{ tasks: { id: string; reservation_id: string }[] }>(first.url, 'POST', `/2/clusters/${cid}/runner/reserve`, { token: ctoken, json: { instance_id: 'k1', n: 3, wait: 1 } });
          for (const t of r.body.tasks) {
            const f = await call(first.url, 'POST', `/2/clusters/${cid}/runner/tasks/${t.id}/finish`, { token: ctoken, json: { reservation_id: t.reservation_id, status: 'complete' } });
            if (f.status === 200) finished.add(t.id);
          }
        } catch {
          return;
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill('SIGKILL');
    stop = true;
    await Promise.all([producer, consumer]);
    expect(acked.size).toBeGreaterThan(20);

    const second = await spawnServer(dir);
    await new Promise((r) => setTimeout(r, 200));
    expect(second.stdout()).not.toContain('token'); // not a fresh bootstrap
    const seen = new Map<string, string>();
    for (let page = 0; ; page++) {
      const r = await call<{ tasks: { id: string; status: string }[] }>(second.url, 'GET', `/2/projects/${pid}/tasks?per_page=100&page=${page}`, { token: cfg.token });
      for (const t of r.body.tasks) seen.set(t.id, t.status);
      if (r.body.tasks.length < 100) break;
    }
    const missing = [...acked].filter((id) => !seen.has(id));
    expect(missing).toEqual([]);
    const notComplete = [...finished].filter((id) => seen.get(id) !== 'complete');
    expect(notComplete).toEqual([]);
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
    expect(second.child.exitCode).toBe(0);
  });
});
