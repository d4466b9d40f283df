// 11. The fleet (issue 17): iron-api in its own process, simulated runners speaking the runner protocol
// in generator processes (bench/lib/fleet-*.ts), CPU of both read from /proc. Idle: 1,000 and 2,000
// runners parked in a reserve, heartbeating once a second (API CPU %, heartbeat p50/p99). Busy: 100
// runners x 4 slots, ~1 s tasks (start, 2 log chunks, finish), offered load in steps (completed
// tasks/s, API CPU-ms per completed task, heartbeat p99); every queued task must finish exactly once.
// Flags: --quick (short windows, fewer steps), --scenario idle|busy|cost (cost: closed-loop API CPU per
// idle heartbeat and per task cycle, bench/lib/fleet-cost.ts; not part of the default run), --steps 20,50 (offered tasks/s),
// --store sqlite|postgres, --replicas N (PostgreSQL only), --api-root DIR (measure the iron-api built in
// another checkout, e.g. the code before a change, with this fleet), --profile DIR (node --cpu-prof of the API),
// --idle-heartbeat-interval 1s (the API's IDLE_HEARTBEAT_INTERVAL; 1s: idle runners beat every second, as before it).
// On PostgreSQL the busy scenario also prints the server's CPU per task (the postmaster's process tree)
// and, for the whole run, statements per task (pg_stat_statements).
import { cpus, loadavg } from 'node:os';
import { spawnApiProcess, type ApiProcess } from './lib/api-proc.js';
import { fleetCost } from './lib/fleet-cost.js';
import { busyFleet, idleFleet, type FleetApi } from './lib/fleet-run.js';
import { startPostgres } from './lib/postgres.js';
import { metric, type Metrics } from './lib/results.js';
import { fmt } from './lib/stats.js';

export interface FleetFlags {
  quick: boolean;
  /** all = idle and busy; cost (closed-loop CPU per request) only when asked for. */
  scenario: 'idle' | 'busy' | 'all' | 'cost';
  store: 'sqlite' | 'postgres';
  replicas: number;
  /** node --cpu-prof directory for the API processes. */
  profile: string | undefined;
  /** Offered tasks/s of the busy scenario's steps (--steps 20,50); default by --quick. */
  steps: number[] | undefined;
  /** A checkout whose built iron-api (dist/) is measured instead of this one: before/after on one fleet. */
  apiRoot: string | undefined;
  /** IDLE_HEARTBEAT_INTERVAL of the API (e.g. 1s: every runner beats each second, as before it existed). */
  idleHeartbeat: string | undefined;
  /** --pg-top: print the statements PostgreSQL ran most often in the busy run, with calls per task. */
  pgTop: boolean;
}

export function fleetFlags(flags: readonly string[]): FleetFlags {
  const value = (name: string): string | undefined => {
    const i = flags.findIndex((f) => f === name || f.startsWith(`${name}=`));
    if (i < 0) return undefined;
    const f = flags[i] ?? '';
    return f.includes('=') ? f.slice(f.indexOf('=') + 1) : flags[i + 1];
  };
  const scenario = value('--scenario') ?? 'all';
  const store = value('--store') ?? 'sqlite';
  const replicas = Number(value('--replicas') ?? 1);
  if (scenario !== 'idle' && scenario !== 'busy' && scenario !== 'all' && scenario !== 'cost') throw new Error(`--scenario must be idle, busy, all or cost, not ${scenario}`);
  if (store !== 'sqlite' && store !== 'postgres') throw new Error(`--store must be sqlite or postgres, not ${store}`);
  if (!Number.isInteger(replicas) || replicas < 1) throw new Error('--replicas must be a whole number >= 1');
  if (store === 'sqlite' && replicas !== 1) throw new Error('SQLite is embedded in one iron-api: --replicas needs --store postgres');
  const steps = value('--steps')?.split(',').map(Number);
  if (steps !== undefined && steps.some((n) => !Number.isFinite(n) || n <= 0)) throw new Error('--steps must list offered tasks/s, e.g. 20,50');
  return {
    quick: flags.includes('--quick'),
    scenario,
    store,
    replicas,
    profile: value('--profile'),
    steps,
    apiRoot: value('--api-root'),
    idleHeartbeat: value('--idle-heartbeat-interval'),
    pgTop: flags.includes('--pg-top'),
  };
}

async function startApi(
  flags: FleetFlags,
): Promise<{ api: FleetApi; stop: () => Promise<void>; statements?: () => Promise<number>; topStatements?: (n: number) => Promise<Array<{ calls: number; query: string }>> }> {
  // A fleet of N runners holds ~2N connections (a parked reserve and a heartbeat each): past the
  // default MAX_CONNECTIONS (1000) idle ones would be closed, so the bench sets it as an operator would.
  const env: Record<string, string> = { MAX_CONNECTIONS: '20000' };
  if (flags.idleHeartbeat !== undefined) env['IDLE_HEARTBEAT_INTERVAL'] = flags.idleHeartbeat;
  const root = flags.apiRoot === undefined ? {} : { root: flags.apiRoot };
  if (flags.profile !== undefined) env['NODE_OPTIONS'] = `--cpu-prof --cpu-prof-dir=${flags.profile}`;
  const pg = flags.store === 'postgres' ? await startPostgres({ statements: true }) : undefined;
  const procs: ApiProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop()));
    await pg?.stop();
  };
  try {
    const databaseUrl = pg === undefined ? undefined : await pg.createDatabase('fleet');
    // The first replica bootstraps the empty database and prints the credentials; the others find
    // it bootstrapped and print none. The generators spread their runners over every replica.
    procs.push(await spawnApiProcess({ env, ...root, ...(databaseUrl === undefined ? {} : { databaseUrl }) }));
    const c = procs[0]?.credentials;
    if (c === null || c === undefined) throw new Error('iron-api did not print its bootstrap credentials');
    for (let i = 1; i < flags.replicas; i++) procs.push(await spawnApiProcess({ env, ...root, waitForCredentials: false, ...(databaseUrl === undefined ? {} : { databaseUrl }) }));
    const dbPid = pg?.pid;
    const api = { urls: procs.map((p) => p.url), pids: procs.map((p) => p.pid), ...(dbPid === undefined ? {} : { dbPid }), ...c };
    return { api, stop, ...(pg === undefined ? {} : { statements: () => pg.statements('fleet'), topStatements: (n: number) => pg.topStatements('fleet', n) }) };
  } catch (e) {
    await stop();
    throw e;
  }
}

export async function benchFleet(print: (line: string) => void, rawFlags: readonly string[] = []): Promise<Metrics> {
  const flags = fleetFlags(rawFlags);
  const out: Metrics = {};
  print(
    `fleet: load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} cores at the start (other work on the machine slows the API)`,
  );
  const where = `iron-api (${flags.store}${flags.replicas > 1 ? ` x ${flags.replicas} replicas` : ''}) in its own process`;
  if (flags.scenario === 'cost') {
    const { api, stop } = await startApi(flags);
    try {
      const r = await fleetCost(api, flags.quick ? { heartbeats: 2000, tasks: 400 } : { heartbeats: 10_000, tasks: 2000 });
      print(
        `fleet cost (closed loop, ${where}): API CPU ${fmt(r.heartbeatUs, 0)} us per idle heartbeat, ${fmt(r.taskCycleUs / 1000, 2)} ms per task cycle (queue, reserve, start, 2 log chunks, heartbeat, finish)`,
      );
      print(
        `  by request (us of API CPU each): ${Object.entries(r.perRequestUs)
          .map(([k, us]) => `${k} ${fmt(us, 0)}`)
          .join(', ')}`,
      );
      out['fleet_cost_heartbeat_us'] = metric(Math.round(r.heartbeatUs), 'us');
      out['fleet_cost_task_cycle_ms'] = metric(Number((r.taskCycleUs / 1000).toFixed(2)), 'ms');
    } finally {
      await stop();
    }
    return out;
  }
  if (flags.scenario !== 'busy') {
    for (const runners of flags.quick ? [1000] : [1000, 2000]) {
      const { api, stop } = await startApi(flags);
      try {
        const r = await idleFleet(api, { processes: true, generators: Math.max(flags.replicas, Math.ceil(runners / 1000)), runners, warmS: flags.quick ? 3 : 5, measureS: flags.quick ? 5 : 15 });
        print(`fleet idle: ${runners} runners over ${r.clusters} clusters, ${where}, each a parked reserve + heartbeats at the API's idle interval (${flags.idleHeartbeat ?? 'its default'})`);
        print(
          `  API CPU ${fmt(r.apiCpuPct, 1)} %, heartbeat p50 ${fmt(r.hbP50, 1)} ms p99 ${fmt(r.hbP99, 1)} ms (${r.heartbeats}, ${fmt(r.heartbeats / r.measureS, 0)}/s), generators CPU ${fmt(r.genCpuPct, 1)} %${errors(r.errors)}`,
        );
        const big = runners >= 2000;
        out[`fleet_idle_${runners}_api_cpu_pct`] = metric(Number(r.apiCpuPct.toFixed(1)), '%', big ? 25 : undefined);
        out[`fleet_idle_${runners}_hb_p50_ms`] = metric(Number(r.hbP50.toFixed(1)), 'ms');
        out[`fleet_idle_${runners}_hb_p99_ms`] = metric(Number(r.hbP99.toFixed(1)), 'ms', big ? 50 : undefined);
      } finally {
        await stop();
      }
    }
  }
  if (flags.scenario !== 'idle') {
    const { api, stop, statements, topStatements } = await startApi(flags);
    try {
      await statements?.();
      const steps = flags.steps ?? (flags.quick ? [200, 800] : [200, 400, 800]);
      const r = await busyFleet(api, { processes: true, generators: Math.max(2, flags.replicas), runners: 100, slots: 4, taskMs: 1000, steps, stepS: flags.quick ? 5 : 10 });
      print(`fleet busy: 100 runners x 4 slots, 1 s tasks (start, 2 log chunks, finish), ${where}; ${r.queued} tasks`);
      for (const s of r.steps) {
        print(
          `  offered ${s.offered}/s (queued ${fmt(s.queuedPerS, 0)}/s): completed ${fmt(s.completedPerS, 0)}/s, API CPU ${fmt(s.apiCpuPct, 0)} % = ${fmt(s.apiCpuMsPerTask, 2)} ms per task${flags.store === 'postgres' ? ` (PostgreSQL server ${fmt(s.dbCpuMsPerTask, 2)} ms)` : ''}, ${fmt(s.looksPerTask, 1)} reserve looks per task, ` +
            `heartbeat p99 ${fmt(s.hbP99, 0)} ms, generators CPU ${fmt(s.genCpuPct, 0)} %${errors(s.errors)}`,
        );
      }
      print(`  drained in ${fmt(r.drainS, 1)} s; not finished exactly once: ${r.notOnce}; reserved twice: ${r.reservedTwice}`);
      if (flags.pgTop && topStatements !== undefined) {
        for (const s of await topStatements(25)) print(`    ${fmt(s.calls / Math.max(1, r.queued), 2)} per task: ${s.query.slice(0, 160)}`);
      }
      // Statements per task do not depend on how loaded the machine is (CPU per task does, through wasted looks and idle costs).
      const perTask = statements === undefined ? undefined : (await statements()) / Math.max(1, r.queued);
      print(
        `  whole run (steps and drain, every task run to its end): API CPU ${fmt(r.runApiCpuMsPerTask, 2)} ms per task${
          perTask === undefined ? '' : `, PostgreSQL server ${fmt(r.runDbCpuMsPerTask, 2)} ms, ${fmt(perTask, 1)} statements per task`
        }`,
      );
      if (perTask !== undefined) out['fleet_busy_pg_statements_per_task'] = metric(Number(perTask.toFixed(1)), 'statements');
      const best = r.steps.reduce((a, b) => (b.completedPerS > a.completedPerS ? b : a));
      const ms = Math.min(...r.steps.map((s) => s.apiCpuMsPerTask));
      out['fleet_busy_tasks_per_s'] = metric(Math.round(best.completedPerS), 'tasks/s');
      out['fleet_busy_api_cpu_ms_per_task'] = metric(Number(ms.toFixed(2)), 'ms', flags.store === 'sqlite' ? 1 : undefined);
      if (flags.store === 'postgres') out['fleet_busy_db_cpu_ms_per_task'] = metric(Number(Math.min(...r.steps.map((s) => s.dbCpuMsPerTask)).toFixed(2)), 'ms');
      out['fleet_busy_run_api_cpu_ms_per_task'] = metric(Number(r.runApiCpuMsPerTask.toFixed(2)), 'ms');
      out['fleet_busy_hb_p99_ms'] = metric(Number(Math.max(...r.steps.map((s) => s.hbP99)).toFixed(1)), 'ms');
      out['fleet_busy_not_exactly_once'] = metric(r.notOnce + r.reservedTwice, 'tasks', 0);
    } finally {
      await stop();
    }
  }
  return out;
}

function errors(e: Record<string, number>): string {
  const list = Object.entries(e);
  return list.length === 0 ? '' : `; errors ${list.map(([k, v]) => `${k} ${v}`).join(', ')}`;
}
