// Reserve latency with a blocked backlog (issue 13): 100k queued tasks of a paused code must not make
// a reserve of another code's task slower. Measures queue-one-task -> reserve (wait 0) -> finish,
// timing the reserve only, on an empty queue and then beside the backlog; reports p50/p95 and the
// ratio of the two p50s (target: at most 2, i.e. independent of the backlog).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { serverConfig } from '../src/config/server.js';
import { silentLogger } from '../src/log.js';
import { startServer } from '../src/server/start.js';
import { metric, type Metrics } from './lib/results.js';
import { fmt, summarize, type Summary } from './lib/stats.js';

export interface ReserveBacklogResult {
  backlog: number;
  empty: Summary;
  blocked: Summary;
  ratio: number;
  queueSeconds: number;
}

export async function reserveBacklog(backlog = 100_000, samples = 200): Promise<ReserveBacklogResult> {
  const dir = await mkdtemp(join(tmpdir(), 'iron-reserve-bench-'));
  const server = await startServer({ config: serverConfig({ port: 0, dataDir: dir }), log: silentLogger() });
  const agent = new Agent({ connections: 4 });
  try {
    const b = server.bootstrap;
    if (b === null) throw new Error('no bootstrap');
    const post = async (path: string, token: string, body: unknown): Promise<Record<string, unknown>> => {
      const res = await request(server.url + path, {
        method: 'POST',
        dispatcher: agent,
        body: JSON.stringify(body),
        headers: { authorization: `OAuth ${token}`, 'content-type': 'application/json' },
      });
      const json = (await res.body.json()) as Record<string, unknown>;
      if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${JSON.stringify(json)}`);
      return json;
    };
    const project = `/2/projects/${b.projectId}`;
    const paused = (await post(`${project}/codes`, b.projectToken, { name: 'paused', image: 'iron-test/busybox:1' }))['id'] as string;
    await post(`${project}/codes`, b.projectToken, { name: 'live', image: 'iron-test/busybox:1' });
    await post(`${project}/codes/${paused}/pause_task_queue`, b.projectToken, {});
    const oneReserve = async (): Promise<number> => {
      await post(`${project}/tasks`, b.projectToken, { tasks: [{ code_name: 'live', payload: '{}' }] });
      const t0 = performance.now();
      const got = (await post(`/2/clusters/${b.clusterId}/runner/reserve`, b.clusterToken, { instance_id: 'bench', n: 1, wait: 0 }))['tasks'] as { id: string; reservation_id: string }[];
      const ms = performance.now() - t0;
      const t = got[0];
      if (t === undefined) throw new Error('the live task was not reserved');
      await post(`/2/clusters/${b.clusterId}/runner/tasks/${t.id}/finish`, b.clusterToken, { reservation_id: t.reservation_id, status: 'complete' });
      return ms;
    };
    const measure = async (): Promise<Summary> => {
      for (let i = 0; i < 20; i++) await oneReserve(); // warm-up
      const xs: number[] = [];
      for (let i = 0; i < samples; i++) xs.push(await oneReserve());
      return summarize(xs);
    };
    const empty = await measure();
    const q0 = performance.now();
    // Priority 2: the backlog sits ahead of every live task in the queue order.
    const batch = Array.from({ length: 1000 }, () => ({ code_name: 'paused', payload: '{}', priority: 2 }));
    for (let i = 0; i < backlog; i += 1000) await post(`${project}/tasks`, b.projectToken, { tasks: batch.slice(0, Math.min(1000, backlog - i)) });
    const queueSeconds = (performance.now() - q0) / 1000;
    const blocked = await measure();
    return { backlog, empty, blocked, ratio: blocked.p50 / empty.p50, queueSeconds };
  } finally {
    await agent.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function benchReserve(print: (line: string) => void): Promise<Metrics> {
  const r = await reserveBacklog();
  print(`reserve: iron-api (SQLite, client in the same process), reserve of a ready task beside ${r.backlog} queued tasks of a paused code`);
  print(`  empty queue: p50 ${fmt(r.empty.p50)} ms, p95 ${fmt(r.empty.p95)} ms; with the backlog: p50 ${fmt(r.blocked.p50)} ms, p95 ${fmt(r.blocked.p95)} ms`);
  print(`  ratio (p50 backlog / p50 empty): ${fmt(r.ratio)}; queueing the backlog took ${fmt(r.queueSeconds, 1)} s`);
  return {
    reserve_empty_p50_ms: metric(Number(r.empty.p50.toFixed(3)), 'ms'),
    reserve_backlog_p50_ms: metric(Number(r.blocked.p50.toFixed(3)), 'ms'),
    reserve_backlog_p95_ms: metric(Number(r.blocked.p95.toFixed(3)), 'ms'),
    reserve_backlog_ratio: metric(Number(r.ratio.toFixed(2)), 'x', 2),
  };
}
