// kill -9 of a real iron-api process mid-queue, restart on the same data dir: nothing the server
// acknowledged (queued or finished) is lost. Runs the compiled dist/ (build first).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnApiProcess, type ApiProcess } from '../helpers/api-process.js';
import { call } from '../helpers/http.js';

const procs: ApiProcess[] = [];

afterAll(async () => {
  // Last first: the first process's data dir (removed by its stop) is served by the second.
  for (const p of procs.reverse()) await p.stop();
});

describe('restart after kill -9', () => {
  it('keeps every acknowledged queue and finish', async () => {
    const first = await spawnApiProcess({ port: 0 });
    procs.push(first);
    const dir = first.dataDir;
    const cfg = JSON.parse(await readFile(join(dir, 'iron.json'), 'utf8')) as { project_id: string; token: string };
    const cid = first.credentials?.clusterId ?? '';
    const ctoken = first.credentials?.clusterToken ?? '';
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
            token: cfg.token,
            json: { tasks: Array.from({ length: 5 }, (_, j) => ({ code_name: 'k', payload: `${i}-${j}` })) },
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
          const r = await call<{ tasks: { id: string; reservation_id: string }[] }>(first.url, 'POST', `/2/clusters/${cid}/runner/reserve`, {
            token: ctoken,
            json: { instance_id: 'k1', n: 3, wait: 1 },
          });
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
    await first.kill();
    stop = true;
    await Promise.all([producer, consumer]);
    expect(acked.size).toBeGreaterThan(20);

    const second = await spawnApiProcess({ dataDir: dir, port: 0 });
    procs.push(second);
    // A fresh bootstrap would print right after listening: give stdout that moment.
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
    await second.stop();
    expect(second.proc.exitCode).toBe(0);
  });
});
