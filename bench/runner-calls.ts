// iron-api's cost per request on the runner's hot calls: reserve, start, log append and finish, each
// measured as the server's own CPU time (from /proc, so the client's cost and the machine's other
// load are not counted) and as requests per second, against the real iron-api process. Written to
// compare HTTP layers (issue 14: the hand-written one against fastify): CPU-ms per request is the
// number that survives a shared, loaded machine; requests/s moves with the load.
//   node dist/bench/runner-calls.js [tasks] [rounds] [other build's dist/src/server/main.js]
// With another build, rounds alternate between the two, so both see the same machine load, and the
// ratio this build / other is printed.
import { pathToFileURL } from 'node:url';
import { Agent, request } from 'undici';
import { startApiProcess } from './lib/api-proc.js';
import { cpuSeconds } from './lib/proc.js';

const CONCURRENCY = 8;
const LOG_CHUNK = Buffer.alloc(512, 'x');

export interface CallCost {
  /** Server CPU milliseconds per request. */
  cpuMs: number;
  requestsPerS: number;
}
export type RunnerCallsResult = Record<'reserve' | 'start' | 'log' | 'finish', CallCost>;

interface Reserved {
  id: string;
  reservation_id: string;
}

export async function benchRunnerCalls(tasks: number, main?: string): Promise<RunnerCallsResult> {
  const api = await startApiProcess(main);
  const agent = new Agent({ connections: CONCURRENCY });
  try {
    const call = async (path: string, token: string, body: Buffer | string, type = 'application/json'): Promise<Record<string, unknown>> => {
      const res = await request(api.url + path, {
        method: 'POST',
        dispatcher: agent,
        body,
        headers: { authorization: `OAuth ${token}`, 'content-type': type },
      });
      const json = (await res.body.json()) as Record<string, unknown>;
      if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${JSON.stringify(json)}`);
      return json;
    };
    const project = (path: string, body: unknown) => call(`/2/projects/${api.projectId}${path}`, api.projectToken, JSON.stringify(body));
    const runner = (path: string, body: Buffer | string, type?: string) => call(`/2/clusters/${api.clusterId}/runner${path}`, api.clusterToken, body, type);

    await project('/codes', { name: 'bench', image: 'iron-test/busybox:1' });
    for (let i = 0; i < tasks; i += 100) {
      await project('/tasks', { tasks: Array.from({ length: Math.min(100, tasks - i) }, () => ({ code_name: 'bench', payload: '{}' })) });
    }
    const reserved: Reserved[] = [];
    const reserveOne = async (): Promise<void> => {
      const out = await runner('/reserve', JSON.stringify({ instance_id: 'bench', n: 1, wait: 1 }));
      reserved.push(...(out['tasks'] as Reserved[]));
    };
    const phase = async (count: number, one: (i: number) => Promise<void>): Promise<CallCost> => {
      let next = 0;
      const cpu0 = cpuSeconds(api.pid);
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < count) await one(next++);
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const cpu = cpuSeconds(api.pid) - cpu0;
      return { cpuMs: Number(((cpu * 1000) / count).toFixed(3)), requestsPerS: Math.round(count / seconds) };
    };
    const reserve = await phase(tasks, reserveOne);
    if (reserved.length !== tasks) throw new Error(`reserved ${reserved.length} of ${tasks} tasks`);
    const task = (i: number): Reserved => reserved[i] as Reserved;
    const start = await phase(tasks, async (i) => {
      await runner(`/tasks/${task(i).id}/start`, JSON.stringify({ reservation_id: task(i).reservation_id }));
    });
    const log = await phase(tasks, async (i) => {
      await runner(`/tasks/${task(i).id}/log?offset=0&reservation_id=${task(i).reservation_id}`, LOG_CHUNK, 'application/octet-stream');
    });
    const finish = await phase(tasks, async (i) => {
      await runner(`/tasks/${task(i).id}/finish`, JSON.stringify({ reservation_id: task(i).reservation_id, status: 'complete', exit_code: 0 }));
    });
    return { reserve, start, log, finish };
  } finally {
    await agent.close();
    await api.stop();
  }
}

const CALLS = ['reserve', 'start', 'log', 'finish'] as const;

/** The median round per call: one round disturbed by the machine's other load does not decide. */
function medians(all: readonly RunnerCallsResult[]): RunnerCallsResult {
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const one = (name: (typeof CALLS)[number]): CallCost => ({
    cpuMs: median(all.map((x) => x[name].cpuMs)),
    requestsPerS: median(all.map((x) => x[name].requestsPerS)),
  });
  return { reserve: one('reserve'), start: one('start'), log: one('log'), finish: one('finish') };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const tasks = Number(process.argv[2] ?? 2000);
  const rounds = Number(process.argv[3] ?? 3);
  const other = process.argv[4];
  const mine: RunnerCallsResult[] = [];
  const theirs: RunnerCallsResult[] = [];
  for (let r = 0; r < rounds; r++) {
    mine.push(await benchRunnerCalls(tasks));
    if (other !== undefined) theirs.push(await benchRunnerCalls(tasks, other));
  }
  const m = medians(mine);
  process.stdout.write(`iron-api runner calls (${tasks} tasks, ${CONCURRENCY} concurrent, median of ${rounds} rounds; server CPU from /proc)\n`);
  const t = other === undefined ? undefined : medians(theirs);
  for (const name of CALLS) {
    const line = `  ${name.padEnd(8)} ${m[name].cpuMs.toFixed(3)} CPU-ms/request  ${m[name].requestsPerS} requests/s`;
    const vs = t === undefined ? '' : `   | other: ${t[name].cpuMs.toFixed(3)} CPU-ms, ${t[name].requestsPerS} requests/s | CPU ratio ${(m[name].cpuMs / t[name].cpuMs).toFixed(2)}`;
    process.stdout.write(`${line}${vs}\n`);
  }
}
