// iron-api benchmark on the embedded SQLite store: queue+reserve+finish throughput with 1 and 8
// concurrent reservers, and long-poll reserve wake-up latency (queue call returns -> reserve returns).
// Client and server share one process (as in the tests), so numbers include the client's HTTP cost.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Agent, request } from 'undici';
import { serverConfig } from '../src/config/server.js';
import { silentLogger } from '../src/log.js';
import { startServer } from '../src/server/start.js';

export interface BenchServerOptions {
  tasks?: number;
  latencySamples?: number;
  batch?: number;
}
export interface BenchServerResult {
  tasks: number;
  throughput1: number;
  throughput8: number;
  /** queue call returns -> parked reserve returns (0 when the reserve answered first). */
  wakeupMs: { p50: number; p95: number; max: number; samples: number };
  /** queue call starts -> parked reserve returns (includes the queue request itself). */
  wakeupFromQueueStartMs: { p50: number; p95: number; max: number };
}

export async function benchServer(opts: BenchServerOptions = {}): Promise<BenchServerResult> {
  const tasks = opts.tasks ?? 2000;
  const samples = opts.latencySamples ?? 50;
  const dir = await mkdtemp(join(tmpdir(), 'iron-api-bench-'));
  const server = await startServer({ config: serverConfig({ port: 0, dataDir: dir }), log: silentLogger() });
  const agent = new Agent({ connections: 32 });
  try {
    const b = server.bootstrap!;
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
    await post(`/2/projects/${b.projectId}/codes`, b.projectToken, { name: 'bench', image: 'iron-test/busybox:1' });
    const queue = (n: number) => post(`/2/projects/${b.projectId}/tasks`, b.projectToken, { tasks: Array.from({ length: n }, () => ({ code_name: 'bench', payload: '{}' })) });
    const reserve = async (wait: number): Promise<{ id: string; reservation_id: string }[]> =>
      (await post(`/2/clusters/${b.clusterId}/runner/reserve`, b.clusterToken, { instance_id: 'bench', n: 1, wait })).tasks as { id: string; reservation_id: string }[];
    const finish = (t: { id: string; reservation_id: string }) =>
      post(`/2/clusters/${b.clusterId}/runner/tasks/${t.id}/finish`, b.clusterToken, { reservation_id: t.reservation_id, status: 'complete' });

    const throughput = async (reservers: number): Promise<number> => {
      let done = 0;
      const started = performance.now();
      const worker = async (): Promise<void> => {
        while (done < tasks) {
          for (const t of await reserve(0.2)) {
            await finish(t);
            done++;
          }
        }
      };
      const workers = Array.from({ length: reservers }, () => worker());
      // One queue call per task, as clients usually do.
      const batch = opts.batch ?? 1;
      for (let i = 0; i < tasks; i += batch) await queue(Math.min(batch, tasks - i));
      await Promise.all(workers);
      return tasks / ((performance.now() - started) / 1000);
    };
    const throughput1 = await throughput(1);
    const throughput8 = await throughput(8);

    const lat: number[] = [];
    const full: number[] = [];
    for (let i = 0; i < samples; i++) {
      let returned = 0;
      const parked = reserve(30).then((got) => {
        returned = performance.now();
        return got;
      });
      await new Promise((r) => setTimeout(r, 20)); // let the reserve park
      const queueStart = performance.now();
      await queue(1);
      const queuedAt = performance.now();
      const got = await parked;
      lat.push(Math.max(0, returned - queuedAt));
      full.push(returned - queueStart);
      for (const t of got) await finish(t);
    }
    lat.sort((x, y) => x - y);
    full.sort((x, y) => x - y);
    const at = (xs: number[], p: number) => Number((xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0).toFixed(2));
    const pct = (p: number) => at(lat, p);
    return {
      tasks,
      throughput1: Math.round(throughput1),
      throughput8: Math.round(throughput8),
      wakeupMs: { p50: pct(0.5), p95: pct(0.95), max: Number((lat.at(-1) ?? 0).toFixed(2)), samples },
      wakeupFromQueueStartMs: { p50: at(full, 0.5), p95: at(full, 0.95), max: Number((full.at(-1) ?? 0).toFixed(2)) },
    };
  } finally {
    await agent.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchServer();
  process.stdout.write(
    `iron-api (SQLite, in-process client): ${r.tasks} tasks queue+reserve+finish\n` +
      `  1 reserver:  ${r.throughput1} tasks/s\n  8 reservers: ${r.throughput8} tasks/s\n` +
      `  reserve wake-up after queue returns: p50 ${r.wakeupMs.p50} ms, p95 ${r.wakeupMs.p95} ms, max ${r.wakeupMs.max} ms (${r.wakeupMs.samples} samples)\n` +
      `  reserve wake-up from queue call start: p50 ${r.wakeupFromQueueStartMs.p50} ms, p95 ${r.wakeupFromQueueStartMs.p95} ms, max ${r.wakeupFromQueueStartMs.max} ms\n`,
  );
}
