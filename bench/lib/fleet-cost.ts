// The fleet's request cost in a closed loop (bench/fleet.ts --scenario cost): API CPU per idle
// heartbeat and per whole task cycle (queue one, reserve without waiting, start, two log chunks, a
// heartbeat holding it, finish), the client in this process and the API's CPU read from /proc. No
// timers and no parked reserves: the figure holds on a busy machine, where the fleet's steps starve.
import { Agent, request } from 'undici';
import type { FleetApi } from './fleet-run.js';
import { cpuSeconds } from './proc.js';

const CHUNK = Buffer.from(`${'x'.repeat(99)}\n`);

export interface CostResult {
  /** API CPU microseconds per request or cycle. */
  heartbeatUs: number;
  taskCycleUs: number;
}

export async function fleetCost(api: FleetApi, opts: { heartbeats: number; tasks: number }): Promise<CostResult> {
  const url = api.urls[0] ?? '';
  const pid = api.pids[0] ?? 0;
  const agent = new Agent({ connections: 64 });
  const post = async (path: string, body: string | Buffer, token: string): Promise<Record<string, unknown>> => {
    const json = typeof body === 'string';
    const res = await request(`${url}${path}`, {
      method: 'POST',
      dispatcher: agent,
      body,
      headers: { authorization: `OAuth ${token}`, 'content-type': json ? 'application/json' : 'application/octet-stream' },
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const runner = `/2/clusters/${api.clusterId}/runner`;
  const heartbeat = async (i: number): Promise<void> => {
    await post(`${runner}/heartbeat`, JSON.stringify({ instance_id: `cost-${i}`, tasks: [] }), api.clusterToken);
  };
  const cycle = async (i: number): Promise<void> => {
    const instance = `cost-${i}`;
    await post(`/2/projects/${api.projectId}/tasks`, JSON.stringify({ tasks: [{ code_name: 'cost', payload: '{}' }] }), api.projectToken);
    let t: { id: string; reservation_id: string } | undefined;
    while (t === undefined) {
      const got = await post(`${runner}/reserve`, JSON.stringify({ instance_id: instance, n: 1, wait: 0 }), api.clusterToken);
      t = (got['tasks'] as { id: string; reservation_id: string }[])[0];
    }
    const rid = t.reservation_id;
    const base = `${runner}/tasks/${t.id}`;
    await post(`${base}/start`, JSON.stringify({ reservation_id: rid }), api.clusterToken);
    await post(`${base}/log?offset=0&reservation_id=${encodeURIComponent(rid)}`, CHUNK, api.clusterToken);
    await post(`${base}/log?offset=${CHUNK.length}&reservation_id=${encodeURIComponent(rid)}`, CHUNK, api.clusterToken);
    await post(`${runner}/heartbeat`, JSON.stringify({ instance_id: instance, tasks: [{ id: t.id, reservation_id: rid }] }), api.clusterToken);
    const fin = { reservation_id: rid, status: 'complete', exit_code: 0, duration_ms: 1000, log_size: 2 * CHUNK.length };
    await post(`${base}/finish`, JSON.stringify(fin), api.clusterToken);
  };
  try {
    await post(`/2/projects/${api.projectId}/codes`, JSON.stringify({ name: 'cost', image: 'iron-test/busybox:1' }), api.projectToken);
    // A fifth of each as warm-up (JIT, statement cache), then the measured run.
    await loop(heartbeat, Math.ceil(opts.heartbeats / 5), 50);
    const heartbeatUs = await measured(pid, opts.heartbeats, () => loop(heartbeat, opts.heartbeats, 50));
    await loop(cycle, Math.ceil(opts.tasks / 5), 10);
    const taskCycleUs = await measured(pid, opts.tasks, () => loop(cycle, opts.tasks, 10));
    return { heartbeatUs, taskCycleUs };
  } finally {
    await agent.close();
  }
}

/** `n` calls of `fn` by `concurrency` loops. */
async function loop(fn: (i: number) => Promise<void>, n: number, concurrency: number): Promise<void> {
  let left = n;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      while (left-- > 0) await fn(i);
    }),
  );
}

async function measured(pid: number, n: number, run: () => Promise<void>): Promise<number> {
  const cpu0 = cpuSeconds(pid);
  await run();
  return ((cpuSeconds(pid) - cpu0) * 1e6) / n;
}
