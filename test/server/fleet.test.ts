// The fleet as iron-api keeps it: runner heartbeats that carry a `runner` report list the instance in
// the cluster's stats with its state (idle, busy, draining, lost), count its slots in runners_total /
// runners_available, and show in iron_runners. Writes are throttled; lost instances are kept for the
// retention, then dropped. Task usage from a finish shows on the task.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverConfig } from '../../src/config/server.js';
import { silentLogger } from '../../src/log.js';
import { Fleet } from '../../src/server/services/fleet.js';
import { openSqliteStore } from '../../src/server/store/sqlite/index.js';
import { waitFor } from '../helpers/wait.js';
import { call, getTask, queue, registerCode, reserve, runnerPath, startTestServer, type TestServer } from './helpers.js';

const METRICS_TOKEN = 'metrics-token-for-the-fleet-test';
const report = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  hostname: 'host-a',
  version: '0.1.0',
  slots_total: 4,
  slots_busy: 0,
  draining: false,
  engine_version: '20.10.24',
  started_at: '2026-12-01T10:00:00.000Z',
  ...over,
});

interface Stats {
  ewma: number;
  queued: number;
  runners_total: number;
  runners_available: number;
  instances: Array<Record<string, unknown>>;
}

let s: TestServer;
beforeAll(async () => {
  // Lost after 3 s of silence (heartbeats every 100 ms): slack for a loaded machine between a beat and
  // the read that checks it; the write refresh is then 1 s.
  s = await startTestServer({ metricsToken: METRICS_TOKEN, heartbeatIntervalMs: 100, runnerLostAfterMs: 3_000 });
});
afterAll(async () => {
  await s?.close();
});

const beat = (instance: string, runner: unknown, tasks: unknown[] = []): Promise<{ status: number; body: Record<string, unknown> }> =>
  call(s.url, 'POST', `/2/clusters/${s.cid}/runner/heartbeat`, { token: s.ctoken, json: { instance_id: instance, tasks, ...(runner === undefined ? {} : { runner }) } });
const stats = async (): Promise<Stats> => {
  const r = await call<{ cluster: Stats }>(s.url, 'GET', `/2/clusters/${s.cid}/stats`, { token: s.token });
  expect(r.status).toBe(200);
  return r.body.cluster;
};
const instance = async (id: string): Promise<Record<string, unknown> | undefined> => (await stats()).instances.find((i) => i['instance_id'] === id);

describe('runner instances from heartbeats', () => {
  it('an idle runner is listed with its slots; the cluster counts them', async () => {
    expect((await beat('r-idle', report())).status).toBe(200);
    const i = await instance('r-idle');
    expect(i).toMatchObject({
      instance_id: 'r-idle',
      hostname: 'host-a',
      version: '0.1.0',
      type: 'LIVE',
      state: 'idle',
      draining: false,
      runners_total: 4,
      runners_available: 4,
      engine_version: '20.10.24',
      started_at: '2026-12-01T10:00:00.000Z',
    });
    expect(typeof i?.['last_seen_at']).toBe('string');
    expect(typeof i?.['created_at']).toBe('string');
    const st = await stats();
    expect(st.runners_total).toBeGreaterThanOrEqual(4);
    expect(typeof st.ewma).toBe('number');
    const c = await call<{ cluster: Record<string, unknown> }>(s.url, 'GET', `/2/clusters/${s.cid}`, { token: s.token });
    expect(c.body.cluster['runners_total']).toBe(st.runners_total);
    // The runner's own token reads it too (its startup check).
    expect((await call<{ cluster: Record<string, unknown> }>(s.url, 'GET', `/2/clusters/${s.cid}`, { token: s.ctoken })).body.cluster['runners_total']).toBe(st.runners_total);
  });

  it('busy, draining and lost follow the reports and the silence', async () => {
    await beat('r-life', report({ slots_busy: 1 }));
    expect(await instance('r-life')).toMatchObject({ state: 'busy', runners_available: 3, slots_busy: 1 });
    await beat('r-life', report({ slots_busy: 1, draining: true }));
    expect(await instance('r-life')).toMatchObject({ state: 'draining', draining: true, runners_available: 0 });
    // Silent past RUNNER_LOST_AFTER: lost, still listed, counted nowhere.
    const lost = await waitFor('r-life lost', async () => ((await instance('r-life'))?.['state'] === 'lost' ? instance('r-life') : undefined), { timeoutMs: 30_000 });
    expect(lost).toMatchObject({ runners_total: 4, runners_available: 0 });
    // A lost instance that beats again is back.
    await beat('r-life', report());
    expect((await instance('r-life'))?.['state']).toBe('idle');
  });

  it('runners_total and runners_available add up the live instances of the cluster (list and get)', async () => {
    await beat('r-two-a', report({ slots_total: 2 }));
    await beat('r-two-b', report({ slots_total: 3, slots_busy: 1, hostname: 'host-b' }));
    const st = await stats();
    const live = st.instances.filter((i) => i['state'] !== 'lost');
    const total = live.reduce((n, i) => n + Number(i['runners_total']), 0);
    expect(total).toBeGreaterThanOrEqual(5);
    expect(st.runners_total).toBe(total);
    expect(st.runners_available).toBe(live.reduce((n, i) => n + Number(i['runners_available']), 0));
    const list = await call<{ clusters: Array<Record<string, unknown>> }>(s.url, 'GET', `/2/clusters`, { token: s.token });
    const mine = list.body.clusters.find((c) => c['id'] === s.cid);
    expect(mine?.['runners_total']).toBe(st.runners_total);
    // Another cluster has no runners.
    const other = await call<{ id: string }>(s.url, 'POST', '/2/clusters', { token: s.token, json: { name: 'empty-fleet' } });
    const o = await call<{ cluster: Record<string, unknown> }>(s.url, 'GET', `/2/clusters/${other.body.id}/stats`, { token: s.token });
    expect(o.body.cluster).toMatchObject({ runners_total: 0, runners_available: 0, instances: [] });
  });

  it('an unchanged report is written at most once per refresh interval; a change at once', async () => {
    // The default RUNNER_LOST_AFTER (10 s): a row is refreshed every 3.3 s when nothing changed.
    const d = await startTestServer();
    try {
      const hb = (runner: unknown): Promise<unknown> => call(d.url, 'POST', `/2/clusters/${d.cid}/runner/heartbeat`, { token: d.ctoken, json: { instance_id: 'r-throttle', tasks: [], runner } });
      const seen = async (): Promise<Record<string, unknown> | undefined> => (await call<{ cluster: Stats }>(d.url, 'GET', `/2/clusters/${d.cid}/stats`, { token: d.token })).body.cluster.instances[0];
      await hb(report());
      const first = await seen();
      await new Promise((r) => setTimeout(r, 20));
      await hb(report());
      expect((await seen())?.['last_seen_at']).toBe(first?.['last_seen_at']);
      await hb(report({ slots_busy: 2 }));
      expect(await seen()).toMatchObject({ state: 'busy', slots_busy: 2 });
    } finally {
      await d.close();
    }
  });

  it('a heartbeat without a report (an older runner) still works and lists nothing', async () => {
    expect((await beat('r-old', undefined)).status).toBe(200);
    expect(await instance('r-old')).toBeUndefined();
  });

  it('iron_runners counts instances per cluster and state, behind METRICS_TOKEN', async () => {
    await beat('r-metrics', report({ slots_busy: 1 }));
    const full = await waitFor('iron_runners busy', async () => {
      const text = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }).then((r) => r.text());
      return new RegExp(`iron_runners\\{cluster="${s.cid}",state="busy"\\} [1-9]`).test(text) ? text : undefined;
    });
    expect(full).toContain('# TYPE iron_runners gauge');
    expect(await fetch(`${s.url}/metrics`).then((r) => r.text())).not.toContain('iron_runners{');
  });
});

describe('task usage', () => {
  it('a finish with usage shows peak_memory and cpu_seconds on the task; without, they are absent', async () => {
    await registerCode(s, 'usage');
    const [withUsage, without] = await queue(s, [{ code_name: 'usage' }, { code_name: 'usage' }]);
    const got = await reserve(s, 2);
    expect(got).toHaveLength(2);
    for (const t of got) {
      const usage = t.id === withUsage ? { peak_memory: 70_000_000, cpu_seconds: 1.25 } : undefined;
      const r = await call(s.url, 'POST', runnerPath(s, t.id, 'finish'), {
        token: s.ctoken,
        json: { reservation_id: t.reservation_id, status: 'complete', exit_code: 0, msg: '', ...(usage === undefined ? {} : { usage }) },
      });
      expect(r.status).toBe(200);
    }
    expect(await getTask(s, withUsage ?? '')).toMatchObject({ peak_memory: 70_000_000, cpu_seconds: 1.25 });
    const plain = await getTask(s, without ?? '');
    expect(plain).not.toHaveProperty('peak_memory');
    expect(plain).not.toHaveProperty('cpu_seconds');
  });
});

describe('retention', () => {
  it('instances lost for longer than RUNNER_RETENTION are dropped; others stay', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iron-fleet-'));
    const store = openSqliteStore(dir);
    try {
      const config = serverConfig({ dataDir: dir, runnerRetentionMs: 60_000 });
      const fleet = new Fleet(store.instances, config, silentLogger(), AbortSignal.timeout(10_000));
      const now = Date.now();
      const base = { clusterId: 'k'.repeat(24), hostname: 'h', version: 'v', slotsTotal: 1, slotsBusy: 0, draining: false, engineVersion: 'e', startedAt: null };
      await store.instances.recordInstances(
        [
          { report: { ...base, instanceId: 'old' }, at: now - 120_000 },
          { report: { ...base, instanceId: 'recent' }, at: now - 30_000 },
        ],
        AbortSignal.timeout(1000),
      );
      expect((await fleet.instances(base.clusterId, AbortSignal.timeout(1000))).map((i) => [i.instanceId, i.state])).toEqual([['recent', 'lost']]);
      await fleet.sweep(now, AbortSignal.timeout(1000));
      expect((await store.instances.listInstances(null, 0, AbortSignal.timeout(1000))).map((i) => i.instanceId)).toEqual(['recent']);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('report writes', () => {
  it('the reports of a second go to the store in one write; reads here see them at once; a failed write is tried again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iron-fleet-'));
    const store = openSqliteStore(dir);
    // The real store, with its writes counted and, on demand, refused (a database that is down).
    const writes: number[] = [];
    let refuse = false;
    const instances = {
      ...store.instances,
      recordInstances: async (seen: Parameters<typeof store.instances.recordInstances>[0], signal: AbortSignal) => {
        if (refuse) throw new Error('the database is down');
        writes.push(seen.length);
        return store.instances.recordInstances(seen, signal);
      },
    };
    const life = new AbortController();
    const fleet = new Fleet(instances, serverConfig({ dataDir: dir }), silentLogger(), life.signal);
    const S = AbortSignal.timeout(10_000);
    try {
      const base = { clusterId: 'k'.repeat(24), hostname: 'h', version: 'v', slotsTotal: 2, slotsBusy: 0, draining: false, engineVersion: 'e', startedAt: null };
      const now = Date.now();
      for (let i = 0; i < 50; i++) fleet.seen({ ...base, instanceId: `r-${i}` }, now);
      fleet.seen({ ...base, instanceId: 'r-0', slotsBusy: 1 }, now + 1);
      expect(writes).toEqual([]);
      // A read on this replica writes what is pending first: one write of 50 rows, the newest report of r-0.
      const listed = await fleet.instances(base.clusterId, S);
      expect(writes).toEqual([50]);
      expect(listed).toHaveLength(50);
      expect(listed.find((i) => i.instanceId === 'r-0')).toMatchObject({ slotsBusy: 1, state: 'busy' });
      // Unchanged and recent: not written again.
      fleet.seen({ ...base, instanceId: 'r-1' }, now + 2);
      await fleet.flush(S);
      expect(writes).toEqual([50]);
      // A changed report while the store refuses writes: kept, and written by the timer once it takes them.
      refuse = true;
      fleet.seen({ ...base, instanceId: 'r-1', draining: true }, now + 3);
      await expect(fleet.flush(S)).rejects.toThrow('the database is down');
      refuse = false;
      await waitFor('the timer to write the kept report', () => writes.length === 2, { timeoutMs: 5_000 });
      expect(writes).toEqual([50, 1]);
      expect((await store.instances.listInstances([base.clusterId], 0, S)).find((i) => i.instanceId === 'r-1')).toMatchObject({ draining: true });
      // Close writes what is pending, and takes nothing after.
      fleet.seen({ ...base, instanceId: 'r-2', slotsBusy: 2 }, now + 4);
      await fleet.close(S);
      fleet.seen({ ...base, instanceId: 'r-3', slotsBusy: 2 }, now + 5);
      expect(writes).toEqual([50, 1, 1]);
    } finally {
      life.abort();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
