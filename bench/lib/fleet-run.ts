// The fleet scenarios (bench/fleet.ts): simulated runners against iron-api over loopback, the API's
// and the generators' CPU read from /proc. `idle`: N runners parked in a reserve, heartbeating once a
// second. `busy`: runners with slots take ~1 s tasks while load is offered in steps. Both work with
// generators in child processes (the benchmark) or in this process (the test), and with one or more
// API replicas (each a process, or the test's in-process server).
import { Agent, request } from 'undici';
import type { SimCluster, SimConfig, SimFinal, SimMark } from './fleet-sim.js';
import { inlineGenerator, processGenerator, type Generator } from './fleet-gens.js';
import { cpuSeconds, treeCpuSeconds } from './proc.js';
import { quantile } from './stats.js';

export interface FleetApi {
  /** One URL per replica; runners are spread over them. */
  readonly urls: readonly string[];
  readonly pids: readonly number[];
  /** The database server's root process (PostgreSQL's postmaster), whose tree's CPU is read beside the API's. */
  readonly dbPid?: number;
  readonly projectId: string;
  readonly projectToken: string;
  readonly clusterId: string;
  readonly clusterToken: string;
}

export interface FleetOptions {
  /** Generators in child processes (true) or in this process. */
  readonly processes: boolean;
  readonly generators: number;
}

/** Cluster parks at most 256 reserves (ServerConfig.maxParkedPerCluster): idle fleets spread out. */
export const RUNNERS_PER_CLUSTER = 200;

interface Window {
  apiCpuS: number;
  /** The database server's CPU (NaN without one). */
  dbCpuS: number;
  genCpuS: number;
  wallS: number;
  completed: number;
  reserved: number;
  heartbeats: number[];
  errors: Record<string, number>;
}

class Project {
  private readonly agent = new Agent({ connections: 8 });
  constructor(private readonly api: FleetApi) {}

  async post(path: string, body: unknown): Promise<Record<string, unknown>> {
    const res = await request(`${this.api.urls[0] ?? ''}${path}`, {
      method: 'POST',
      dispatcher: this.agent,
      body: JSON.stringify(body),
      headers: { authorization: `OAuth ${this.api.projectToken}`, 'content-type': 'application/json' },
    });
    const json = (await res.body.json()) as Record<string, unknown>;
    if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${JSON.stringify(json)}`);
    return json;
  }

  async code(name: string): Promise<void> {
    await this.post(`/2/projects/${this.api.projectId}/codes`, { name, image: 'iron-test/busybox:1' });
  }

  async clusters(n: number): Promise<SimCluster[]> {
    const out: SimCluster[] = [{ id: this.api.clusterId, token: this.api.clusterToken }];
    for (let i = 1; i < n; i++) {
      const c = await this.post('/2/clusters', { name: `fleet-${i}` });
      out.push({ id: String(c['id']), token: String(c['token']) });
    }
    return out;
  }

  async queue(code: string, n: number): Promise<string[]> {
    const tasks = Array.from({ length: n }, () => ({ code_name: code, payload: '{}' }));
    const res = await this.post(`/2/projects/${this.api.projectId}/tasks`, { tasks });
    return (res['tasks'] as { id: string }[]).map((t) => t.id);
  }

  /** Reserve queries the API ran so far (all replicas): iron_reserve_looks_total of /metrics. */
  async looks(): Promise<number> {
    let n = 0;
    for (const url of this.api.urls) {
      const res = await request(`${url}/metrics`, { dispatcher: this.agent });
      const m = /^iron_reserve_looks_total (\d+)/m.exec(await res.body.text());
      n += Number(m?.[1] ?? Number.NaN);
    }
    return n;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

async function startGenerators(api: FleetApi, opts: FleetOptions, base: Omit<SimConfig, 'url' | 'runners' | 'prefix'>, runners: number): Promise<Generator[]> {
  const gens: Generator[] = [];
  const per = Math.ceil(runners / opts.generators);
  for (let g = 0; g < opts.generators; g++) {
    const n = Math.min(per, runners - g * per);
    if (n <= 0) break;
    // Each generator's runners talk to one replica (round-robin over generators).
    const cfg: SimConfig = { ...base, url: api.urls[g % api.urls.length] ?? '', runners: n, prefix: `fleet-g${g}` };
    gens.push(opts.processes ? await processGenerator(cfg) : inlineGenerator(cfg));
  }
  return gens;
}

function apiCpu(api: FleetApi): number {
  return api.pids.reduce((s, p) => s + cpuSeconds(p), 0);
}

function dbCpu(api: FleetApi): number {
  return api.dbPid === undefined ? Number.NaN : treeCpuSeconds(api.dbPid);
}

/** Consecutive measurement windows: each take() covers the time since the previous one. */
class Meter {
  /** Tasks completed over all windows so far. */
  completed = 0;
  private cpu0 = 0;
  private db0 = 0;
  private gen0 = 0;
  private t0 = 0;

  private constructor(
    private readonly api: FleetApi,
    private readonly gens: readonly Generator[],
  ) {}

  /** Tasks completed since the start, asked now (between takes). */
  async completedNow(): Promise<number> {
    return (await Promise.all(this.gens.map((g) => g.completed()))).reduce((a, b) => a + b, 0);
  }

  static async start(api: FleetApi, gens: readonly Generator[]): Promise<Meter> {
    const m = new Meter(api, gens);
    await m.take();
    return m;
  }

  async take(): Promise<Window> {
    const marks = await Promise.all(this.gens.map((g) => g.mark()));
    const cpu = apiCpu(this.api);
    const db = dbCpu(this.api);
    const gen = marks.reduce((s, m) => s + m.cpu, 0);
    const t = performance.now();
    const w: Window = { apiCpuS: cpu - this.cpu0, dbCpuS: db - this.db0, genCpuS: gen - this.gen0, wallS: (t - this.t0) / 1000, completed: 0, reserved: 0, heartbeats: [], errors: {} };
    for (const { mark } of marks) addMark(w, mark);
    this.completed += w.completed;
    this.cpu0 = cpu;
    this.db0 = db;
    this.gen0 = gen;
    this.t0 = t;
    return w;
  }
}

function addMark(w: Window, m: SimMark): void {
  w.completed += m.completed;
  w.reserved += m.reserved;
  for (const h of m.heartbeats) w.heartbeats.push(h);
  for (const [k, v] of Object.entries(m.errors)) w.errors[k] = (w.errors[k] ?? 0) + v;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface IdleResult {
  runners: number;
  clusters: number;
  apiCpuPct: number;
  genCpuPct: number;
  hbP50: number;
  hbP99: number;
  heartbeats: number;
  /** The measured window, s. */
  measureS: number;
  errors: Record<string, number>;
}

export async function idleFleet(api: FleetApi, opts: FleetOptions & { runners: number; warmS: number; measureS: number }): Promise<IdleResult> {
  const project = new Project(api);
  const clusters = await project.clusters(Math.ceil(opts.runners / RUNNERS_PER_CLUSTER));
  await project.close();
  const gens = await startGenerators(api, opts, { clusters, slots: 4, taskMs: 1000, heartbeatMs: 1000, waitS: 30 }, opts.runners);
  try {
    await sleep(opts.warmS * 1000);
    const meter = await Meter.start(api, gens);
    await sleep(opts.measureS * 1000);
    const w = await meter.take();
    return {
      runners: opts.runners,
      clusters: clusters.length,
      apiCpuPct: (100 * w.apiCpuS) / w.wallS,
      genCpuPct: (100 * w.genCpuS) / w.wallS,
      hbP50: quantile(w.heartbeats, 0.5),
      hbP99: quantile(w.heartbeats, 0.99),
      heartbeats: w.heartbeats.length,
      measureS: w.wallS,
      errors: w.errors,
    };
  } finally {
    await Promise.all(gens.map((g) => g.stop()));
  }
}

export interface BusyStep {
  offered: number;
  /** Tasks/s really queued (the queuer holds back while the backlog is full). */
  queuedPerS: number;
  completedPerS: number;
  apiCpuPct: number;
  /** API CPU milliseconds per completed task (all replicas). */
  apiCpuMsPerTask: number;
  /** The database server's CPU milliseconds per completed task (NaN without one). */
  dbCpuMsPerTask: number;
  /** Reserve queries per completed task (one is the least a task needs). */
  looksPerTask: number;
  genCpuPct: number;
  hbP99: number;
  errors: Record<string, number>;
}

export interface BusyResult {
  steps: BusyStep[];
  queued: number;
  /** Queued tasks that did not finish exactly once. */
  notOnce: number;
  /** Tasks handed out by more than one reservation. */
  reservedTwice: number;
  drainS: number;
  /**
   * CPU-ms per completed task over the whole run (every step and the drain): fixed work (every queued
   * task runs to its end), so less sensitive to a loaded machine than a step's figure.
   */
  runApiCpuMsPerTask: number;
  runDbCpuMsPerTask: number;
}

export interface BusyOptions extends FleetOptions {
  runners: number;
  slots: number;
  taskMs: number;
  /** Offered tasks/s per step. */
  steps: readonly number[];
  stepS: number;
  /** A fixed number of tasks instead of steps (the test): queued at `steps[0]`/s until there are this many. */
  total?: number;
  drainTimeoutS?: number;
}

export async function busyFleet(api: FleetApi, opts: BusyOptions): Promise<BusyResult> {
  const project = new Project(api);
  await project.code('fleet');
  const clusters: SimCluster[] = [{ id: api.clusterId, token: api.clusterToken }];
  const gens = await startGenerators(api, opts, { clusters, slots: opts.slots, taskMs: opts.taskMs, heartbeatMs: 1000, waitS: 30 }, opts.runners);
  const queued: string[] = [];
  const steps: BusyStep[] = [];
  let final: SimFinal[] = [];
  let drainS = 0;
  let run = { api: Number.NaN, db: Number.NaN, completed: 0 };
  try {
    await sleep(1000);
    const meter = await Meter.start(api, gens);
    const api0 = apiCpu(api);
    const db0 = dbCpu(api);
    let looks = await project.looks();
    for (const rate of opts.steps) {
      const before = queued.length;
      await offer(project, meter, queued, rate, opts.stepS, opts.total);
      const w = await meter.take();
      const looked = await project.looks();
      steps.push({
        offered: rate,
        queuedPerS: (queued.length - before) / w.wallS,
        completedPerS: w.completed / w.wallS,
        apiCpuPct: (100 * w.apiCpuS) / w.wallS,
        apiCpuMsPerTask: (1000 * w.apiCpuS) / Math.max(1, w.completed),
        dbCpuMsPerTask: (1000 * w.dbCpuS) / Math.max(1, w.completed),
        looksPerTask: (looked - looks) / Math.max(1, w.completed),
        genCpuPct: (100 * w.genCpuS) / w.wallS,
        hbP99: quantile(w.heartbeats, 0.99),
        errors: w.errors,
      });
      looks = looked;
      if (opts.total !== undefined && queued.length >= opts.total) break;
    }
    // Drain: every queued task is to finish before the runners stop.
    const d0 = performance.now();
    const deadline = d0 + (opts.drainTimeoutS ?? 120) * 1000;
    while (meter.completed < queued.length && performance.now() < deadline) {
      await sleep(250);
      await meter.take();
    }
    drainS = (performance.now() - d0) / 1000;
    run = { api: apiCpu(api) - api0, db: dbCpu(api) - db0, completed: meter.completed };
  } finally {
    await project.close();
    final = (await Promise.all(gens.map((g) => g.stop()))).map((s) => s.final);
  }
  const reserved = new Map<string, number>();
  const finished = new Map<string, number>();
  for (const f of final) {
    for (const [id, n] of Object.entries(f.reservedTimes)) reserved.set(id, (reserved.get(id) ?? 0) + n);
    for (const [id, n] of Object.entries(f.finishedTimes)) finished.set(id, (finished.get(id) ?? 0) + n);
  }
  const ours = new Set(queued);
  const notOnce = queued.filter((id) => finished.get(id) !== 1).length + [...finished.keys()].filter((id) => !ours.has(id)).length;
  const reservedTwice = [...reserved.values()].filter((n) => n > 1).length;
  const per = (cpuS: number): number => (1000 * cpuS) / Math.max(1, run.completed);
  return { steps, queued: queued.length, notOnce, reservedTwice, drainS, runApiCpuMsPerTask: per(run.api), runDbCpuMsPerTask: per(run.db) };
}

/** Queued but not completed past this: the queuer holds back (a saturated API would only grow a backlog to drain). */
const MAX_BACKLOG = 2000;

/**
 * Queues `rate` tasks/s for `seconds`, one call every 20 ms carrying what is due (at most `total` in
 * all); what is due while the backlog is full is dropped, so `queued` says what was really offered.
 */
async function offer(project: Project, meter: Meter, queued: string[], rate: number, seconds: number, total: number | undefined): Promise<void> {
  const t0 = performance.now();
  let sent = 0;
  let done = await meter.completedNow();
  let asked = performance.now();
  for (;;) {
    const elapsed = (performance.now() - t0) / 1000;
    if (elapsed >= seconds || (total !== undefined && queued.length >= total)) return;
    if (performance.now() - asked > 250) {
      done = await meter.completedNow();
      asked = performance.now();
    }
    const room = MAX_BACKLOG - (queued.length - done);
    const due = Math.min(Math.floor(rate * elapsed) - sent, total === undefined ? Number.POSITIVE_INFINITY : total - queued.length);
    if (due > 0 && room <= 0) sent += due;
    else if (due > 0) {
      for (const id of await project.queue('fleet', Math.min(due, 1000))) queued.push(id);
      sent += Math.min(due, 1000);
    }
    await sleep(20);
  }
}
