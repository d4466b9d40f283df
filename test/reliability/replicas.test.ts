// Three iron-api replica processes on one PostgreSQL, a fleet of simulated runners that know all three
// (test/helpers/runner-fleet.ts: the runner protocol through src/api with failover, no Docker) and a
// client queueing tasks through all three, while (a) one replica is killed with SIGKILL, (b)
// PostgreSQL restarts, (c) one replica is cut from PostgreSQL for 20 s (a paused TCP proxy between
// them). Afterwards: every task a queue call got a 200 for exists and is complete; every task was
// finished by exactly one reservation; an attempt > 1 only where an earlier reservation was never
// delivered or lost its lease; the stored log of every task holds exactly the bytes its finishing
// runner shipped; the runners moved between replicas on their own. Figures go to docs/reliability.md
// (printed with CHAOS_REPORT=1).
import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { createIronClient, type IronClient } from '../../src/api/index.js';
import { errorCodeOf } from '../../src/errors.js';
import { spawnApiProcess, type ApiProcess, type Credentials } from '../helpers/api-process.js';
import { startChaosProxy, type ChaosProxy } from '../helpers/chaos-proxy.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { call } from '../helpers/http.js';
import { RunnerFleet } from '../helpers/runner-fleet.js';
import { waitFor } from '../helpers/wait.js';

const TASKS = 240;
const BATCH = 4;
const LEASE = '30s';
const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
});

interface Cluster {
  pg: Postgres;
  apis: ApiProcess[];
  urls: string[];
  creds: Credentials;
  /** The proxy between replica 3 and PostgreSQL (scenario c only). */
  link?: ChaosProxy;
}

async function startCluster(name: string, opts: { proxyThird?: boolean } = {}): Promise<Cluster> {
  const pg = await startPostgres();
  cleanup.push(() => pg.stop());
  const db = await pg.createDatabase(name);
  const env = { DATABASE_URL: db, LEASE, HEARTBEAT_INTERVAL: '1s' };
  const first = await spawnApiProcess({ env, waitForCredentials: true });
  cleanup.push(() => first.stop());
  if (first.credentials === null) throw new Error('the first replica printed no credentials');
  let link: ChaosProxy | undefined;
  const dbUrl = new URL(db);
  if (opts.proxyThird === true) {
    link = await startChaosProxy(Number(dbUrl.port), { maxDelayMs: 0, dropConnection: 0, cutPerChunk: 0 });
    cleanup.push(() => link!.close());
  }
  const apis = [first];
  for (let i = 1; i < 3; i++) {
    const url = new URL(db);
    if (i === 2 && link !== undefined) url.port = new URL(link.url).port;
    const a = await spawnApiProcess({ env: { ...env, DATABASE_URL: url.toString() }, waitForCredentials: false });
    cleanup.push(() => a.stop());
    apis.push(a);
  }
  const c: Cluster = { pg, apis, urls: apis.map((a) => a.url), creds: first.credentials };
  if (link !== undefined) c.link = link;
  const r = await call(c.urls[0]!, 'POST', `/2/projects/${c.creds.projectId}/codes`, { token: c.creds.projectToken, json: { name: 'chaos', image: 'iron-test/busybox:1' } });
  if (r.status !== 200) throw new Error(`register: ${r.status} ${r.text}`);
  return c;
}

interface Queued {
  ids: string[];
  /** Queue calls that failed without an answer (their tasks may or may not exist). */
  ambiguous: number;
  refused: number;
}

/** Queues TASKS tasks in batches, spread over the replicas (each call's client starts on another). */
async function queueAll(c: Cluster, everyMs: number): Promise<Queued> {
  const clients: IronClient[] = c.urls.map((_, i) =>
    createIronClient({ baseUrl: [...c.urls.slice(i), ...c.urls.slice(0, i)], token: c.creds.projectToken, projectId: c.creds.projectId, headersTimeoutMs: 10_000, connectTimeoutMs: 2_000 }),
  );
  const out: Queued = { ids: [], ambiguous: 0, refused: 0 };
  try {
    for (let b = 0; b * BATCH < TASKS; b++) {
      const client = clients[b % clients.length]!;
      try {
        const ids = await client.project.queueTasks(
          Array.from({ length: BATCH }, (_, i) => ({ code_name: 'chaos', payload: `task ${b * BATCH + i}`, cluster: c.creds.clusterId })),
          AbortSignal.timeout(30_000),
        );
        out.ids.push(...ids);
      } catch (err) {
        if (errorCodeOf(err) === 'ERR_API_NETWORK') out.ambiguous++;
        else out.refused++;
      }
      await sleep(everyMs);
    }
  } finally {
    await Promise.all(clients.map((cl) => cl.close()));
  }
  return out;
}

interface Verdict {
  tasks: number;
  reservations: number;
  reattempted: number;
  /** Tasks whose finish answer never reached the runner (committed, then the replica died). */
  unacknowledged: number;
  failovers: number;
  ambiguous: number;
  logBytes: number;
}

/** Checks every promise of the brief against the API's own view; returns the figures. */
async function verify(c: Cluster, fleet: RunnerFleet, queued: Queued): Promise<Verdict> {
  const alive = c.urls.filter((_, i) => c.apis[i]!.proc.exitCode === null && c.apis[i]!.proc.signalCode === null);
  if (alive.length === 0) throw new Error(`every replica exited:\n${c.apis.map((a) => `${a.proc.exitCode ?? a.proc.signalCode}: ${a.stderr().slice(-1500)}`).join('\n')}`);
  const client = createIronClient({ baseUrl: alive, token: c.creds.projectToken, projectId: c.creds.projectId });
  cleanup.push(() => client.close());
  const signal = AbortSignal.timeout(120_000);
  // Every task that exists (also those of an ambiguous queue call) ends.
  let all: { id: string; status: string }[] = [];
  await waitFor(
    () => `every task complete (${all.filter((t) => t.status !== 'complete').length} of ${all.length} not yet)`,
    async () => {
      all = [];
      for (let page = 0; ; page++) {
        const list = await client.project.listTasks({ codeName: 'chaos', page, perPage: 100 }, signal);
        all.push(...list.map((t) => ({ id: t.id, status: String(t.status) })));
        if (list.length < 100) break;
      }
      return all.length >= queued.ids.length && all.every((t) => t.status === 'complete');
    },
    { timeoutMs: 120_000, everyMs: 500 },
  );
  // A finish the API committed may still be on its way back to its runner (an answer lost, retried).
  await waitFor('the fleet heard back about every reservation', () => fleet.reservations.every((r) => r.outcome !== 'running'), { timeoutMs: 60_000 });
  const existing = new Set(all.map((t) => t.id));
  expect(queued.ids.filter((id) => !existing.has(id))).toEqual([]);
  expect(new Set(queued.ids).size).toBe(queued.ids.length);
  expect(fleet.anomalies).toEqual([]);

  let reattempted = 0;
  let unacknowledged = 0;
  let logBytes = 0;
  for (const t of all) {
    const mine = fleet.reservations.filter((r) => r.taskId === t.id);
    // The reservation the API took the finish of: acknowledged, or sent and then told `lost` (see Reservation.finishSent).
    const acked = mine.filter((r) => r.outcome === 'finished');
    const finished = acked.length > 0 ? acked : mine.filter((r) => r.finishSent && r.outcome === 'lost');
    if (acked.length === 0) unacknowledged++;
    // Exactly one reservation's finish was taken: the task ran to its end once.
    expect(
      finished.map((r) => r.reservationId),
      `task ${t.id}: ${JSON.stringify(mine.map((r) => ({ ...r, shipped: r.shipped.length })))}`,
    ).toHaveLength(1);
    const winner = finished[0]!;
    const info = await client.project.getTask(t.id, signal);
    expect(info.status).toBe('complete');
    if (winner.attempt > 1) {
      reattempted++;
      // An earlier attempt the fleet held must have lost its lease (superseded or told lost); any
      // other earlier attempt was never delivered (its answer died with a replica).
      for (const r of mine) if (r !== winner) expect(['superseded', 'lost'], `earlier attempt of ${t.id}`).toContain(r.outcome);
    } else {
      expect(mine, `task ${t.id} ran once`).toHaveLength(1);
    }
    const log = await client.project.getTaskLog(t.id, signal);
    logBytes += winner.shipped.length;
    if (mine.every((r) => r.shipped.length === 0 || r === winner)) {
      // Only the winner wrote: the log is exactly its bytes (an attempt marker line may precede them).
      expect(log.subarray(log.length - winner.shipped.length).equals(winner.shipped), `log of ${t.id}`).toBe(true);
      if (winner.attempt === 1) expect(log.equals(winner.shipped), `log of ${t.id}`).toBe(true);
    } else {
      expect(log.subarray(log.length - winner.shipped.length).equals(winner.shipped), `log of ${t.id} ends with the last attempt`).toBe(true);
    }
  }
  return { tasks: all.length, reservations: fleet.reservations.length, reattempted, unacknowledged, failovers: fleet.failovers.length, ambiguous: queued.ambiguous, logBytes };
}

function fleetFor(c: Cluster): RunnerFleet {
  const fleet = new RunnerFleet({
    urls: c.urls,
    clusterId: c.creds.clusterId,
    clusterToken: c.creds.clusterToken,
    runners: 6,
    slots: 4,
    chunks: 3,
    chunkBytes: 700,
    workMs: 150,
    headersTimeoutMs: 5_000,
  });
  cleanup.push(() => fleet.stop());
  return fleet;
}

/** Longest pause between consecutive finishes after `from`: how long the fleet stalled. */
function longestGapMs(fleet: RunnerFleet, from: number): number {
  const times = fleet
    .finished()
    .map((r) => r.finishedAt!)
    .filter((t) => t >= from)
    .sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return gap;
}

function report(name: string, v: Verdict, started: number, extra: Record<string, number | string>): void {
  const line = { scenario: name, ...v, duration_s: Math.round((Date.now() - started) / 100) / 10, ...extra };
  if (process.env['CHAOS_REPORT'] === '1') process.stdout.write(`CHAOS ${JSON.stringify(line)}\n`);
}

async function untilFinished(fleet: RunnerFleet, n: number): Promise<void> {
  await waitFor(`${n} tasks finished`, () => fleet.finished().length >= n, { timeoutMs: 60_000 });
}

describe('three iron-api replicas on one PostgreSQL under faults', () => {
  it('(a) SIGKILL of one replica under load: runners re-park elsewhere, nothing lost or run twice', async () => {
    const started = Date.now();
    const c = await startCluster('chaos_kill');
    const fleet = fleetFor(c);
    fleet.start();
    const queueing = queueAll(c, 40);
    await untilFinished(fleet, 40);
    const killedAt = Date.now();
    const victim = c.apis[1]!;
    await victim.kill();
    const queued = await queueing;
    const v = await verify(c, fleet, queued);
    const fromVictim = fleet.failovers.filter((f) => f.from === new URL(victim.url).origin && f.at >= killedAt);
    expect(fromVictim.length).toBeGreaterThan(0);
    expect(fleet.finished().filter((r) => r.finishedAt! > killedAt).length).toBeGreaterThan(0);
    report('kill -9 one of three replicas', v, started, { failovers_off_killed: fromVictim.length, longest_gap_after_kill_ms: longestGapMs(fleet, killedAt) });
  }, 240_000);

  it('(b) PostgreSQL restarted mid-run: the replicas reconnect and every task completes once', async () => {
    const started = Date.now();
    const c = await startCluster('chaos_restart');
    const fleet = fleetFor(c);
    fleet.start();
    const queueing = queueAll(c, 40);
    await untilFinished(fleet, 40);
    const restartAt = Date.now();
    await c.pg.restart();
    const back = Date.now();
    const queued = await queueing;
    const v = await verify(c, fleet, queued);
    const firstAfter = Math.min(
      ...fleet
        .finished()
        .map((r) => r.finishedAt!)
        .filter((t) => t >= back),
    );
    report('PostgreSQL restart', v, started, { restart_ms: back - restartAt, first_finish_after_restart_ms: firstAfter - back, longest_gap_ms: longestGapMs(fleet, restartAt) });
  }, 240_000);

  it('(c) one replica cut from PostgreSQL for 20 s: runners move off it, it rejoins, nothing lost', async () => {
    const started = Date.now();
    const c = await startCluster('chaos_cut', { proxyThird: true });
    const fleet = fleetFor(c);
    fleet.start();
    const queueing = queueAll(c, 60);
    await untilFinished(fleet, 40);
    const cutOrigin = new URL(c.urls[2]!).origin;
    // Two of the six runners start on the third replica and stay while it answers.
    const onCut = fleet.runnersOn(cutOrigin);
    expect(onCut.length, `runners on the third replica before the cut (failovers so far: ${JSON.stringify(fleet.failovers)})`).toBeGreaterThan(0);
    const cutAt = Date.now();
    c.link!.set({ paused: true });
    await sleep(20_000);
    c.link!.set({ paused: false });
    const healedAt = Date.now();
    const queued = await queueing;
    const v = await verify(c, fleet, queued);
    const offCut = fleet.failovers.filter((f) => f.from === cutOrigin && f.at >= cutAt && f.at <= healedAt);
    // Idle or busy, each of them moved during the cut: the replica answers 503 once its liveness
    // probe finds PostgreSQL silent, and a parked reserve learns it at its next look.
    expect(new Set(offCut.map((f) => f.runner)), JSON.stringify(fleet.failovers)).toEqual(new Set(onCut));
    const movedWithinMs = Math.max(...onCut.map((name) => Math.min(...offCut.filter((f) => f.runner === name).map((f) => f.at)) - cutAt));
    report('one replica cut from PostgreSQL for 20 s', v, started, {
      failovers_off_cut: offCut.length,
      last_runner_moved_after_ms: movedWithinMs,
      longest_gap_during_cut_ms: longestGapMs(fleet, cutAt),
    });
  }, 240_000);
});
