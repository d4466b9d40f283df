// The fleet's request cost in a closed loop (bench/fleet.ts --scenario cost): API CPU per idle
// heartbeat and per whole task cycle (queue one, reserve without waiting, start, two log chunks, a
// heartbeat holding it, finish; the second chunk rides on the finish when the reserve answer offers
// room for it, as the runner does with its last output), the client in this process and the API's CPU read from /proc. No
// timers and no parked reserves: the figure holds on a busy machine, where the fleet's steps starve.
import { Agent, request } from 'undici';
import type { FleetApi } from './fleet-run.js';
import { cpuSeconds } from './proc.js';
import { CHUNK, simFinish, tailOffered } from './sim-task.js';

export interface CostResult {
  /** API CPU microseconds per request or cycle. */
  heartbeatUs: number;
  taskCycleUs: number;
  /** API CPU microseconds per request of each kind, every task taking one step at a time (queue all, then reserve all, ...). */
  perRequestUs: Record<string, number>;
}

export async function fleetCost(api: FleetApi, opts: { heartbeats: number; tasks: number }): Promise<CostResult> {
  const url = api.urls[0] ?? '';
  const pid = api.pids[0] ?? 0;
  const agent = new Agent({ connections: 64 });
  const post: Post = async (path, body, token) => {
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
    let tail = false;
    while (t === undefined) {
      const got = await post(`${runner}/reserve`, JSON.stringify({ instance_id: instance, n: 1, wait: 0 }), api.clusterToken);
      t = (got['tasks'] as { id: string; reservation_id: string }[])[0];
      tail = tailOffered(got);
    }
    const rid = t.reservation_id;
    const base = `${runner}/tasks/${t.id}`;
    await post(`${base}/start`, JSON.stringify({ reservation_id: rid }), api.clusterToken);
    await post(`${base}/log?offset=0&reservation_id=${encodeURIComponent(rid)}`, CHUNK, api.clusterToken);
    if (!tail) await post(`${base}/log?offset=${CHUNK.length}&reservation_id=${encodeURIComponent(rid)}`, CHUNK, api.clusterToken);
    await post(`${runner}/heartbeat`, JSON.stringify({ instance_id: instance, tasks: [{ id: t.id, reservation_id: rid }] }), api.clusterToken);
    const fin = simFinish(rid, 1000, tail);
    await post(`${base}/${fin.action}`, fin.body, api.clusterToken);
  };
  try {
    await post(`/2/projects/${api.projectId}/codes`, JSON.stringify({ name: 'cost', image: 'iron-test/busybox:1' }), api.projectToken);
    // A fifth of each as warm-up (JIT, statement cache), then the measured run.
    await loop(heartbeat, Math.ceil(opts.heartbeats / 5), 50);
    const heartbeatUs = await measured(pid, opts.heartbeats, () => loop(heartbeat, opts.heartbeats, 50));
    await loop(cycle, Math.ceil(opts.tasks / 5), 10);
    const taskCycleUs = await measured(pid, opts.tasks, () => loop(cycle, opts.tasks, 10));
    const perRequestUs = await byRequest(pid, opts.tasks, post, api);
    return { heartbeatUs, taskCycleUs, perRequestUs };
  } finally {
    await agent.close();
  }
}

type Post = (path: string, body: string | Buffer, token: string) => Promise<Record<string, unknown>>;

/**
 * The same cycle one step at a time: `n` tasks queued one per call, then each reserved, started,
 * given two log chunks, held by a heartbeat and finished, each step measured on its own, so the
 * cost of a task splits by request (the cycle's sum, within the noise of /proc's 10 ms ticks).
 */
async function byRequest(pid: number, n: number, post: Post, api: FleetApi): Promise<Record<string, number>> {
  const runner = `/2/clusters/${api.clusterId}/runner`;
  const out: Record<string, number> = {};
  const tasks: { id: string; reservation_id: string }[] = [];
  /** Whether the API offers finish-with-log (an older build does not: every task then takes the plain way). */
  let offered = false;
  /** `count` calls of `fn` from task `from` on. */
  const step = async (name: string, fn: (i: number) => Promise<void>, from = 0, count = n): Promise<void> => {
    let next = from;
    out[name] = await measured(pid, count, () => loop(async () => fn(next++), count, 10));
  };
  await step('queue', async () => {
    await post(`/2/projects/${api.projectId}/tasks`, JSON.stringify({ tasks: [{ code_name: 'cost', payload: '{}' }] }), api.projectToken);
  });
  await step('reserve', async (i) => {
    const got = await post(`${runner}/reserve`, JSON.stringify({ instance_id: `cost-${i % 10}`, n: 1, wait: 0 }), api.clusterToken);
    const t = (got['tasks'] as { id: string; reservation_id: string }[])[0];
    if (t === undefined) throw new Error('reserve found no task: the queue step queued fewer than asked');
    tasks.push(t);
    offered = tailOffered(got);
  });
  const each = (name: string, req: (t: { id: string; reservation_id: string }) => Promise<unknown>, from = 0, count = n): Promise<void> =>
    step(
      name,
      async (i) => {
        const t = tasks[i];
        if (t === undefined) throw new Error(`no task ${i}`);
        await req(t);
      },
      from,
      count,
    );
  const base = (t: { id: string }): string => `${runner}/tasks/${t.id}`;
  const rid = (t: { reservation_id: string }): string => encodeURIComponent(t.reservation_id);
  await each('start', (t) => post(`${base(t)}/start`, JSON.stringify({ reservation_id: t.reservation_id }), api.clusterToken));
  await each('log', (t) => post(`${base(t)}/log?offset=0&reservation_id=${rid(t)}`, CHUNK, api.clusterToken));
  // Half the tasks get their second chunk by append and a plain finish, half carry it in the finish.
  const half = offered ? Math.floor(n / 2) : n;
  await each('log 2', (t) => post(`${base(t)}/log?offset=${CHUNK.length}&reservation_id=${rid(t)}`, CHUNK, api.clusterToken), 0, half);
  await each('heartbeat', (t) => post(`${runner}/heartbeat`, JSON.stringify({ instance_id: `cost-hb`, tasks: [{ id: t.id, reservation_id: t.reservation_id }] }), api.clusterToken));
  const finish = (t: { id: string; reservation_id: string }, tail: boolean): Promise<unknown> => {
    const fin = simFinish(t.reservation_id, 1000, tail);
    return post(`${base(t)}/${fin.action}`, fin.body, api.clusterToken);
  };
  await each('finish', (t) => finish(t, false), 0, half);
  if (offered) await each('finish + log tail', (t) => finish(t, true), half, n - half);
  return out;
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
