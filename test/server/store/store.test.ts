// Every store port method through the port interface, against both stores (SQLite and PostgreSQL),
// plus what several replicas on one database must never do: hand out a task twice, queue a
// schedule's run twice, expire a lease twice, bootstrap twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskRules } from '../../../src/server/services/task-rules.js';
import type { Store } from '../../../src/server/store/ports.js';
import type { NewSchedule, NewTask } from '../../../src/server/store/records.js';
import { codeInput, STORE_KINDS, storeSite, type StoreSite } from './harness.js';

const S = new AbortController().signal;
const rules = taskRules(2);
const T0 = 1_700_000_000_000;

async function world(store: Store): Promise<{ projectId: string; clusterId: string; codeId: string }> {
  const p = await store.accounts.createProject('p', T0, S);
  const c = await store.clusters.createCluster({ name: 'c1', ownerProjectId: p.id, memory: 256, diskSpace: 1024, cpuShare: null, autoscale: { a: 1 }, isDefault: true }, T0, S);
  const code = await store.codes.putCode(codeInput(p.id, 'hello'), T0, S);
  return { projectId: p.id, clusterId: c.id, codeId: code.id };
}

function newTask(w: { projectId: string; clusterId: string; codeId: string }, over: Partial<NewTask> = {}): NewTask {
  return { projectId: w.projectId, codeId: w.codeId, clusterId: w.clusterId, priority: 0, timeout: 60, delay: 0, payload: '{}', label: '', ...over };
}

function schedule(w: { projectId: string; clusterId: string }, over: Partial<NewSchedule> = {}): NewSchedule {
  return {
    projectId: w.projectId,
    codeName: 'hello',
    name: 's',
    payload: '{}',
    label: '',
    clusterId: w.clusterId,
    priority: null,
    timeout: 60,
    delay: 0,
    startAt: T0,
    endAt: null,
    runEvery: 60,
    runTimes: 0,
    maxConcurrency: null,
    ...over,
  };
}

describe.each(STORE_KINDS)('%s store', (kind) => {
  let site: StoreSite;
  beforeAll(async () => {
    site = await storeSite(kind);
  }, 120_000);
  afterAll(async () => {
    await site?.close();
  });

  it('accounts: projects, tokens, sealed credentials', async () => {
    const { store } = await site.open();
    expect(await store.accounts.isEmpty(S)).toBe(true);
    const p = await store.accounts.createProject('one', T0, S);
    expect(await store.accounts.isEmpty(S)).toBe(false);
    expect(await store.accounts.getProject(p.id, S)).toEqual({ id: p.id, name: 'one', createdAt: T0 });
    expect(await store.accounts.getProject('0'.repeat(24), S)).toBeUndefined();
    await store.accounts.addToken('h1', { kind: 'project', projectId: p.id }, T0, S);
    await store.accounts.addToken('h2', { kind: 'cluster', clusterId: 'c'.repeat(24) }, T0, S);
    expect(await store.accounts.findToken('h1', S)).toEqual({ hash: 'h1', scope: { kind: 'project', projectId: p.id } });
    expect(await store.accounts.findToken('h2', S)).toEqual({ hash: 'h2', scope: { kind: 'cluster', clusterId: 'c'.repeat(24) } });
    expect(await store.accounts.findToken('nope', S)).toBeUndefined();
    await store.accounts.putCredential(p.id, { serverAddress: 'reg.example', auth: { username: 'u', password: 'secret' } }, T0, S);
    await store.accounts.putCredential(p.id, { serverAddress: 'reg.example', auth: { username: 'u', password: 'secret2' } }, T0 + 1, S);
    expect(await store.accounts.credentials(p.id, S)).toEqual([{ serverAddress: 'reg.example', auth: { username: 'u', password: 'secret2' } }]);
    expect(await store.accounts.createFirstProject('again', T0, S)).toBeUndefined();
  });

  it('concurrent bootstraps on one empty database create one project', async () => {
    const { store, replica } = await site.open();
    const others = [store, await replica(), await replica(), await replica()];
    const made = await Promise.all(others.map((s) => s.accounts.createFirstProject('default', T0, S)));
    expect(made.filter((p) => p !== undefined)).toHaveLength(1);
  });

  it("codes read again after another replica's (another connection's) writes: never a stale revision, pause or delete", async () => {
    const { store, replica } = await site.open();
    const other = await replica();
    const w = await world(store);
    const rev1 = await store.codes.getCodeByName(w.projectId, 'hello', S);
    expect(await store.codes.getCode(w.projectId, w.codeId, S)).toEqual(rev1);
    await other.codes.putCode(codeInput(w.projectId, 'hello', { image: 'alpine:9' }), T0 + 1, S);
    expect(await store.codes.getCodeByName(w.projectId, 'hello', S)).toMatchObject({ rev: 2, image: 'alpine:9' });
    expect(await store.codes.getCode(w.projectId, w.codeId, S)).toMatchObject({ rev: 2, image: 'alpine:9' });
    await other.codes.setCodePaused(w.projectId, w.codeId, true, T0 + 2, S);
    expect((await store.codes.getCode(w.projectId, w.codeId, S))?.paused).toBe(true);
    const rev = (await store.codes.getCode(w.projectId, w.codeId, S))?.historyId ?? '';
    expect((await store.codes.getRevision(rev, S))?.sha256).toBe('');
    await other.codes.setRevisionSha256(rev, 'ef'.repeat(32), S);
    expect((await store.codes.getRevision(rev, S))?.sha256).toBe('ef'.repeat(32));
    await other.codes.deleteCode(w.projectId, w.codeId, T0 + 3, S);
    expect(await store.codes.getCodeByName(w.projectId, 'hello', S)).toBeUndefined();
    expect(await store.codes.getCode(w.projectId, w.codeId, S)).toBeUndefined();
  });

  it('clusters: create, resolve, list, update, delete', async () => {
    const { store } = await site.open();
    const w = await world(store);
    const mine = await store.clusters.createCluster({ name: 'mine', ownerProjectId: w.projectId, memory: 1, diskSpace: 2, cpuShare: 3, autoscale: {}, isDefault: false }, T0 + 1, S);
    expect(await store.clusters.getCluster(mine.id, S)).toEqual(mine);
    expect((await store.clusters.resolveCluster(w.projectId, 'default', S))?.id).toBe(w.clusterId);
    expect((await store.clusters.resolveCluster(w.projectId, 'mine', S))?.id).toBe(mine.id);
    expect((await store.clusters.resolveCluster('x'.repeat(24), mine.id, S))?.id).toBeUndefined();
    expect((await store.clusters.resolveCluster('x'.repeat(24), w.clusterId, S))?.id).toBe(w.clusterId);
    expect((await store.clusters.listClusters(w.projectId, { page: 0, perPage: 10 }, S)).map((c) => c.id)).toEqual([w.clusterId, mine.id]);
    expect((await store.clusters.listClusters(w.projectId, { page: 1, perPage: 1 }, S)).map((c) => c.id)).toEqual([mine.id]);
    expect(await store.clusters.countClusters(w.projectId, S)).toBe(2);
    const up = await store.clusters.updateCluster(w.clusterId, { memory: 512, autoscale: { b: 2 } }, T0 + 5, S);
    expect(up).toMatchObject({ memory: 512, autoscale: { a: 1, b: 2 }, updatedAt: T0 + 5 });
    expect(await store.clusters.getCluster(w.clusterId, S)).toEqual(up);
    expect(await store.clusters.updateCluster('0'.repeat(24), { memory: 1 }, T0, S)).toBeUndefined();
    await store.tasks.queueTasks([newTask(w)], T0, S);
    expect(await store.clusters.deleteCluster(w.clusterId, S)).toBe('busy');
    await store.accounts.addToken('ct', { kind: 'cluster', clusterId: mine.id }, T0, S);
    expect(await store.clusters.deleteCluster(mine.id, S)).toBe('deleted');
    expect(await store.accounts.findToken('ct', S)).toBeUndefined();
    expect(await store.clusters.deleteCluster(mine.id, S)).toBe('not_found');
    expect(await store.clusters.getCluster(mine.id, S)).toBeUndefined();
  });

  it('codes: revisions, lookups, pause, delete', async () => {
    const { store } = await site.open();
    const w = await world(store);
    const v2 = await store.codes.putCode(codeInput(w.projectId, 'hello', { image: 'alpine:4', maxConcurrency: 2, retries: 1, retriesDelay: 5 }), T0 + 1, S);
    expect(v2).toMatchObject({ id: w.codeId, rev: 2, image: 'alpine:4', maxConcurrency: 2, retries: 1, retriesDelay: 5, envVars: { A: '1' }, paused: false });
    expect(await store.codes.getCode(w.projectId, w.codeId, S)).toEqual(v2);
    expect(await store.codes.getCode('x'.repeat(24), w.codeId, S)).toBeUndefined();
    expect((await store.codes.getCodeByName(w.projectId, 'hello', S))?.rev).toBe(2);
    await store.codes.putCode(codeInput(w.projectId, 'other'), T0 + 2, S);
    expect((await store.codes.listCodes(w.projectId, { page: 0, perPage: 10 }, S)).map((c) => c.name)).toEqual(['hello', 'other']);
    expect(await store.codes.countCodes(w.projectId, S)).toBe(2);
    const revs = await store.codes.listRevisions(w.projectId, w.codeId, { page: 0, perPage: 10 }, S);
    expect(revs.map((r) => r.rev)).toEqual([2, 1]);
    const rev1 = revs[1];
    if (rev1 === undefined) throw new Error('no revision 1');
    expect(await store.codes.getRevision(rev1.id, S)).toEqual(rev1);
    await store.codes.setRevisionSha256(rev1.id, 'ab'.repeat(32), S);
    await store.codes.setRevisionSha256(rev1.id, 'cd'.repeat(32), S);
    expect((await store.codes.getRevision(rev1.id, S))?.sha256).toBe('ab'.repeat(32));
    expect(await store.codes.setCodePaused(w.projectId, w.codeId, true, T0 + 3, S)).toBe(true);
    expect((await store.codes.getCode(w.projectId, w.codeId, S))?.paused).toBe(true);
    expect(await store.codes.deleteCode(w.projectId, w.codeId, T0 + 4, S)).toBe(true);
    expect(await store.codes.deleteCode(w.projectId, w.codeId, T0 + 4, S)).toBe(false);
    expect(await store.codes.getCodeByName(w.projectId, 'hello', S)).toBeUndefined();
    expect((await store.codes.putCode(codeInput(w.projectId, 'hello'), T0 + 5, S)).rev).toBe(1);
  });

  it('tasks: queue, list, progress, cancel, retry, counts', async () => {
    const { store } = await site.open();
    const w = await world(store);
    const [a, b, c] = await store.tasks.queueTasks([newTask(w, { label: 'x' }), newTask(w, { priority: 2 }), newTask(w, { delay: 60 })], T0, S);
    if (a === undefined || b === undefined || c === undefined) throw new Error('not queued');
    expect(a).toMatchObject({ status: 'queued', codeName: 'hello', codeRev: 1, availableAt: T0, attempt: 0, logSize: 0, logTruncated: false, cancelPending: false });
    expect(c.availableAt).toBe(T0 + 60_000);
    expect(await store.tasks.getTask(w.projectId, a.id, S)).toEqual(a);
    expect(await store.tasks.getTask('x'.repeat(24), a.id, S)).toBeUndefined();
    const page = (f: Partial<Parameters<Store['tasks']['listTasks']>[0]>) => store.tasks.listTasks({ projectId: w.projectId, page: 0, perPage: 10, ...f }, S);
    expect((await page({})).map((t) => t.id)).toEqual([c.id, b.id, a.id]);
    expect((await page({ label: 'x' })).map((t) => t.id)).toEqual([a.id]);
    expect((await page({ statuses: ['queued', 'running'], perPage: 1, page: 1 })).map((t) => t.id)).toEqual([b.id]);
    expect(await page({ codeName: 'nope' })).toEqual([]);
    expect(await page({ fromTime: T0 + 1 })).toEqual([]);
    expect(await store.tasks.setProgress(w.projectId, a.id, 50, 'half', T0 + 1, S)).toBe(true);
    expect(await store.tasks.setProgress(w.projectId, a.id, null, null, T0 + 1, S)).toBe(true);
    expect(await store.tasks.getTask(w.projectId, a.id, S)).toMatchObject({ percent: 50, msg: 'half' });
    expect((await store.tasks.cancelTask(w.projectId, a.id, T0 + 2, S))?.status).toBe('cancelled');
    const retry = await store.tasks.queueRetry(a.id, newTask(w, { retryOf: a.id, retryCount: 1 }), T0 + 3, S);
    expect(retry).toMatchObject({ retryOf: a.id, retryCount: 1, status: 'queued' });
    expect((await store.tasks.getTask(w.projectId, a.id, S))?.retryTaskId).toBe(retry.id);
    expect(await store.tasks.taskCounts({ clusterId: w.clusterId }, S)).toMatchObject({ queued: 3, cancelled: 1, running: 0 });
    expect((await store.tasks.taskCounts({ codeId: w.codeId, since: T0 + 3 }, S)).queued).toBe(1);
    expect(await store.tasks.readyClustersOf(w.codeId, S)).toEqual([{ clusterId: w.clusterId, count: 2 }]);
    expect((await store.tasks.queueDepth(T0, S)).sort((x, y) => x.priority - y.priority)).toEqual([
      { clusterId: w.clusterId, priority: 0, count: 1 },
      { clusterId: w.clusterId, priority: 2, count: 1 },
    ]);
    expect(await store.tasks.cancelAll(w.projectId, w.codeId, T0 + 4, S)).toBe(3);
    expect((await store.tasks.taskCounts({}, S)).cancelled).toBe(4);
  });

  it('reserve: best first (priority, then FIFO), skipping paused codes and codes at max_concurrency', async () => {
    const { store } = await site.open();
    const w = await world(store);
    const limited = await store.codes.putCode(codeInput(w.projectId, 'limited', { maxConcurrency: 1 }), T0, S);
    const paused = await store.codes.putCode(codeInput(w.projectId, 'paused'), T0, S);
    await store.codes.setCodePaused(w.projectId, paused.id, true, T0, S);
    const q = await store.tasks.queueTasks(
      [
        newTask(w, { payload: 'a' }),
        newTask({ ...w, codeId: paused.id }, { payload: 'p', priority: 9 }),
        newTask({ ...w, codeId: limited.id }, { payload: 'l1', priority: 5 }),
        newTask({ ...w, codeId: limited.id }, { payload: 'l2', priority: 5 }),
        newTask(w, { payload: 'b', priority: 1 }),
        newTask(w, { payload: 'c' }),
        newTask(w, { payload: 'd', delay: 10 }),
      ],
      T0,
      S,
    );
    const got = await store.leases.reserve(w.clusterId, 'i1', 10, T0 + 1, T0 + 60_000, S);
    expect(got.map((r) => r.task.payload)).toEqual(['l1', 'b', 'a', 'c']);
    for (const r of got) {
      expect(r.task).toMatchObject({ status: 'preparing', attempt: 1, instanceId: 'i1', leaseExpiresAt: T0 + 60_000, reservationId: r.reservationId });
      expect(r.revision.id).toBe(r.task.codeHistoryId);
    }
    expect(new Set(got.map((r) => r.reservationId)).size).toBe(4);
    expect(await store.leases.reserve(w.clusterId, 'i1', 10, T0 + 2, T0 + 60_000, S)).toEqual([]);
    // The limited code's running task ends: its second task may run.
    const l1 = got[0];
    if (l1 === undefined) throw new Error('no l1');
    await store.leases.finishTask(w.clusterId, l1.task.id, { reservationId: l1.reservationId, status: 'complete', exitCode: 0, msg: '', durationMs: 5, logSize: 0 }, T0 + 3, rules, S);
    expect((await store.leases.reserve(w.clusterId, 'i2', 10, T0 + 4, T0 + 60_000, S)).map((r) => r.task.payload)).toEqual(['l2']);
    await store.codes.setCodePaused(w.projectId, paused.id, false, T0, S);
    expect((await store.leases.reserve(w.clusterId, 'i2', 1, T0 + 4, T0 + 60_000, S)).map((r) => r.task.payload)).toEqual(['p']);
    // The delayed one: promoted when due, then reservable.
    expect(await store.deadlines.nextDeadline(T0 + 5, S)).toBe(T0 + 10_000);
    expect(await store.deadlines.promoteDue(T0 + 5, S)).toEqual([]);
    expect(await store.deadlines.promoteDue(T0 + 10_000, S)).toEqual([{ clusterId: w.clusterId, count: 1 }]);
    expect((await store.leases.reserve(w.clusterId, 'i2', 5, T0 + 10_001, T0 + 60_000, S)).map((r) => r.task.id)).toEqual([q[6]?.id]);
    expect(await store.leases.reserve('0'.repeat(24), 'i2', 5, T0, T0, S)).toEqual([]);
  });

  it('leases: heartbeat, start, finish, requeue, cancel, log target, code retry', async () => {
    const { store } = await site.open();
    const w = await world(store);
    await store.codes.putCode(codeInput(w.projectId, 'hello', { retries: 1, retriesDelay: 0 }), T0, S);
    await store.tasks.queueTasks([newTask(w), newTask(w), newTask(w)], T0, S);
    const [a, b, c] = await store.leases.reserve(w.clusterId, 'i', 3, T0, T0 + 1000, S);
    if (a === undefined || b === undefined || c === undefined) throw new Error('not reserved');
    const hb = await store.leases.heartbeat(
      w.clusterId,
      [
        { id: a.task.id, reservationId: a.reservationId },
        { id: b.task.id, reservationId: 'wrong' },
      ],
      T0 + 5000,
      rules,
      S,
    );
    expect(hb).toEqual({ cancel: [], lost: [b.task.id] });
    const started = await store.leases.startTask(w.clusterId, a.task.id, a.reservationId, T0 + 10, rules, S);
    expect(started).toMatchObject({ ok: true, task: { status: 'running', startTime: T0 + 10, leaseExpiresAt: T0 + 5000 } });
    expect(await store.leases.startTask(w.clusterId, a.task.id, a.reservationId, T0 + 11, rules, S)).toMatchObject({ ok: true, task: { startTime: T0 + 10 } });
    expect(await store.leases.startTask(w.clusterId, a.task.id, 'wrong', T0, rules, S)).toEqual({ ok: false, reason: 'superseded' });
    expect(await store.leases.startTask('0'.repeat(24), a.task.id, a.reservationId, T0, rules, S)).toEqual({ ok: false, reason: 'not_found' });
    expect(await store.leases.logTarget(w.clusterId, a.task.id, a.reservationId, rules, S)).toMatchObject({ ok: true });
    expect(await store.leases.logTarget(w.clusterId, a.task.id, 'wrong', rules, S)).toEqual({ ok: false, reason: 'superseded' });
    await store.leases.setLogSize(a.task.id, 100, S);
    await store.leases.setLogSize(a.task.id, 50, S);
    await store.leases.markLogTruncated(a.task.id, S);
    const fin = await store.leases.finishTask(w.clusterId, a.task.id, { reservationId: a.reservationId, status: 'error', exitCode: 3, msg: 'boom', durationMs: 7, logSize: 120 }, T0 + 20, rules, S);
    expect(fin).toMatchObject({ ok: true, task: { status: 'error', exitCode: 3, msg: 'boom', logSize: 120, logTruncated: true, endTime: T0 + 20, leaseExpiresAt: null } });
    const retryId = fin.ok ? fin.task.retryTaskId : null;
    expect(retryId).not.toBeNull();
    expect(await store.tasks.getTask(w.projectId, retryId ?? '', S)).toMatchObject({ status: 'queued', retryOf: a.task.id, retryCount: 1 });
    expect(
      await store.leases.finishTask(w.clusterId, a.task.id, { reservationId: a.reservationId, status: 'error', exitCode: 3, msg: 'boom', durationMs: 7, logSize: 120 }, T0 + 21, rules, S),
    ).toMatchObject({
      ok: true,
      task: { endTime: T0 + 20 },
    });
    expect(await store.leases.logTarget(w.clusterId, a.task.id, a.reservationId, rules, S)).toEqual({ ok: false, reason: 'finished' });
    // A start that comes after the finish (a retried request) does not run the task again.
    expect(await store.leases.startTask(w.clusterId, a.task.id, a.reservationId, T0 + 22, rules, S)).toEqual({ ok: false, reason: 'superseded' });
    // Given back: queued again at once.
    const back = await store.leases.finishTask(
      w.clusterId,
      b.task.id,
      { reservationId: b.reservationId, status: 'requeue', exitCode: null, msg: '', durationMs: null, logSize: null },
      T0 + 30,
      rules,
      S,
    );
    expect(back).toMatchObject({ ok: true, task: { status: 'queued', reservationId: null, availableAt: T0 + 30 } });
    // A user cancel while reserved: told on the next heartbeat, then the finish closes the lease.
    expect((await store.tasks.cancelTask(w.projectId, c.task.id, T0 + 40, S))?.cancelPending).toBe(true);
    expect(await store.leases.heartbeat(w.clusterId, [{ id: c.task.id, reservationId: c.reservationId }], T0 + 9000, rules, S)).toEqual({ cancel: [c.task.id], lost: [] });
    expect(await store.leases.startTask(w.clusterId, c.task.id, c.reservationId, T0, rules, S)).toEqual({ ok: false, reason: 'cancelled' });
    const closed = await store.leases.finishTask(w.clusterId, c.task.id, { reservationId: c.reservationId, status: 'killed', exitCode: 137, msg: '', durationMs: 1, logSize: 4 }, T0 + 50, rules, S);
    expect(closed).toMatchObject({ ok: true, task: { status: 'cancelled', cancelPending: false, leaseExpiresAt: null, exitCode: 137 } });
  });

  it('instances: upsert keeps the first-seen time, lists by cluster and since, drops the old', async () => {
    const { store, replica } = await site.open();
    const base = { hostname: 'h1', version: '0.1.0', slotsTotal: 4, slotsBusy: 0, draining: false, engineVersion: '20.10', startedAt: T0 - 5 };
    const [k1, k2] = ['a'.repeat(24), 'b'.repeat(24)];
    await store.instances.recordInstances([{ report: { ...base, clusterId: k1, instanceId: 'r-1' }, at: T0 }], S);
    // A batch: each row with its own time; the same instance id in two clusters is two rows.
    await store.instances.recordInstances(
      [
        { report: { ...base, clusterId: k1, instanceId: 'r-2', startedAt: null }, at: T0 + 10 },
        { report: { ...base, clusterId: k2, instanceId: 'r-1' }, at: T0 + 20 },
      ],
      S,
    );
    await store.instances.recordInstances([], S);
    // Another replica's write of the same instance: an update, not a second row.
    await (await replica()).instances.recordInstances([{ report: { ...base, clusterId: k1, instanceId: 'r-1', slotsBusy: 3, draining: true, hostname: 'h1b' }, at: T0 + 30 }], S);
    expect(await store.instances.listInstances([k1], 0, S)).toEqual([
      { ...base, clusterId: k1, instanceId: 'r-1', slotsBusy: 3, draining: true, hostname: 'h1b', createdAt: T0, lastSeenAt: T0 + 30 },
      { ...base, clusterId: k1, instanceId: 'r-2', startedAt: null, createdAt: T0 + 10, lastSeenAt: T0 + 10 },
    ]);
    expect((await store.instances.listInstances([k1], T0 + 11, S)).map((i) => i.instanceId)).toEqual(['r-1']);
    expect((await store.instances.listInstances([k1, k2], 0, S)).map((i) => `${i.clusterId.slice(0, 1)}:${i.instanceId}`)).toEqual(['a:r-1', 'a:r-2', 'b:r-1']);
    expect(await store.instances.listInstances(null, 0, S)).toHaveLength(3);
    expect(await store.instances.listInstances([], 0, S)).toEqual([]);
    expect(await store.instances.dropInstances(T0 + 25, S)).toBe(2);
    expect((await store.instances.listInstances(null, 0, S)).map((i) => i.instanceId)).toEqual(['r-1']);
  });

  it("usage: a finish's peak memory and CPU seconds are kept, never a give-back's", async () => {
    const { store } = await site.open();
    const w = await world(store);
    await store.tasks.queueTasks([newTask(w), newTask(w)], T0, S);
    const [a, b] = await store.leases.reserve(w.clusterId, 'i', 2, T0, T0 + 1000, S);
    if (a === undefined || b === undefined) throw new Error('not reserved');
    const usage = { peakMemory: 68_071_424, cpuSeconds: 0.52 };
    const done = await store.leases.finishTask(
      w.clusterId,
      a.task.id,
      { reservationId: a.reservationId, status: 'complete', exitCode: 0, msg: '', durationMs: 5, logSize: 0, usage },
      T0 + 5,
      rules,
      S,
    );
    expect(done).toMatchObject({ ok: true, task: { peakMemory: 68_071_424, cpuSeconds: 0.52 } });
    expect(await store.tasks.getTask(w.projectId, a.task.id, S)).toMatchObject({ peakMemory: 68_071_424, cpuSeconds: 0.52 });
    const back = await store.leases.finishTask(
      w.clusterId,
      b.task.id,
      { reservationId: b.reservationId, status: 'requeue', exitCode: null, msg: '', durationMs: null, logSize: null, usage },
      T0 + 6,
      rules,
      S,
    );
    expect(back).toMatchObject({ ok: true, task: { status: 'queued', peakMemory: null, cpuSeconds: null } });
  });

  it('lease expiry: requeued, then runner lost after the max attempts', async () => {
    const { store } = await site.open();
    const w = await world(store);
    const [t] = await store.tasks.queueTasks([newTask(w)], T0, S);
    if (t === undefined) throw new Error('not queued');
    expect(await store.deadlines.nextDeadline(T0, S)).toBeNull();
    await store.leases.reserve(w.clusterId, 'i', 1, T0, T0 + 1000, S);
    expect(await store.deadlines.nextDeadline(T0, S)).toBe(T0 + 1000);
    expect(await store.leases.expireLeases(T0 + 999, rules, S)).toEqual({ requeued: 0, lost: 0, ready: [] });
    expect(await store.leases.expireLeases(T0 + 1001, rules, S)).toEqual({ requeued: 1, lost: 0, ready: [{ clusterId: w.clusterId, count: 1 }] });
    expect(await store.tasks.getTask(w.projectId, t.id, S)).toMatchObject({ status: 'queued', lostCount: 1, reservationId: null });
    await store.leases.reserve(w.clusterId, 'i', 1, T0 + 2000, T0 + 3000, S);
    expect(await store.leases.expireLeases(T0 + 3001, rules, S)).toMatchObject({ requeued: 0, lost: 1 });
    expect(await store.tasks.getTask(w.projectId, t.id, S)).toMatchObject({ status: 'error', msg: 'runner lost', lostCount: 2 });
  });

  it('schedules: create, update, cancel, run when due', async () => {
    const { store } = await site.open();
    const w = await world(store);
    const [s1, s2] = await store.schedules.createSchedules([schedule(w), schedule(w, { codeName: 'missing', runTimes: 1 })], T0, S);
    if (s1 === undefined || s2 === undefined) throw new Error('not created');
    expect(s1).toMatchObject({ status: 'scheduled', nextStart: T0, runCount: 0, errorCount: 0 });
    expect(await store.schedules.getSchedule(w.projectId, s1.id, S)).toEqual(s1);
    expect((await store.schedules.listSchedules(w.projectId, { page: 0, perPage: 10 }, S)).length).toBe(2);
    expect(await store.schedules.countActiveSchedules(w.projectId, S)).toBe(2);
    expect(await store.deadlines.nextDeadline(T0 - 10, S)).toBe(T0);
    const ran = await store.schedules.runDueSchedules(T0 + 1, S);
    expect(ran).toEqual({ queued: 1, ready: [{ clusterId: w.clusterId, count: 1 }] });
    expect(await store.schedules.getSchedule(w.projectId, s1.id, S)).toMatchObject({ runCount: 1, nextStart: T0 + 60_000, lastRunTime: T0 + 1 });
    // A run whose code is missing is skipped (not counted): the schedule stays.
    expect(await store.schedules.getSchedule(w.projectId, s2.id, S)).toMatchObject({ status: 'scheduled', runCount: 0, nextStart: T0 + 60_000 });
    expect((await store.schedules.getSchedule(w.projectId, s2.id, S))?.msg).toContain('code missing not found');
    expect(await store.schedules.runDueSchedules(T0 + 2, S)).toEqual({ queued: 0, ready: [] });
    const up = await store.schedules.updateSchedule(w.projectId, s1.id, schedule(w, { runEvery: 120, payload: 'new' }), T0 + 3, S);
    expect(up).toMatchObject({ payload: 'new', runEvery: 120, nextStart: T0 + 1 + 120_000, runCount: 1 });
    expect(await store.schedules.cancelSchedule(w.projectId, s2.id, T0 + 3, S)).toBe(true);
    expect(await store.schedules.updateSchedule(w.projectId, s2.id, schedule(w), T0, S)).toBe('finished');
    expect(await store.schedules.updateSchedule(w.projectId, '0'.repeat(24), schedule(w), T0, S)).toBe('not_found');
    expect(await store.schedules.cancelSchedule(w.projectId, s1.id, T0 + 4, S)).toBe(true);
    expect(await store.schedules.countActiveSchedules(w.projectId, S)).toBe(0);
    const tasks = await store.tasks.listTasks({ projectId: w.projectId, page: 0, perPage: 10 }, S);
    expect(tasks.map((t) => t.scheduleId)).toEqual([s1.id]);
  });

  it('two replicas reserving at once never hand out a task twice', async () => {
    const { store, replica } = await site.open();
    const other = await replica();
    const w = await world(store);
    const N = 300;
    await store.tasks.queueTasks(
      Array.from({ length: N }, (_, i) => newTask(w, { priority: i % 3, payload: String(i) })),
      T0,
      S,
    );
    const got: string[] = [];
    const worker = async (s: Store, name: string): Promise<void> => {
      for (;;) {
        const r = await s.leases.reserve(w.clusterId, name, 7, T0 + 1, T0 + 60_000, S);
        if (r.length === 0) return;
        got.push(...r.map((x) => x.task.id));
      }
    };
    await Promise.all([worker(store, 'a1'), worker(store, 'a2'), worker(other, 'b1'), worker(other, 'b2')]);
    expect(got.length).toBe(N);
    expect(new Set(got).size).toBe(N);
    expect((await store.tasks.taskCounts({}, S)).preparing).toBe(N);
  });

  it('two replicas reserving a code with max_concurrency never exceed it', async () => {
    const { store, replica } = await site.open();
    const other = await replica();
    const w = await world(store);
    const limited = await store.codes.putCode(codeInput(w.projectId, 'hello', { maxConcurrency: 3 }), T0, S);
    await store.tasks.queueTasks(
      Array.from({ length: 20 }, () => newTask({ ...w, codeId: limited.id })),
      T0,
      S,
    );
    const all = await Promise.all([store, other, store, other].map((s, i) => s.leases.reserve(w.clusterId, `r${i}`, 5, T0 + 1, T0 + 60_000, S)));
    expect(all.flat().length).toBe(3);
  });

  it('two replicas running due schedules at once queue each run once; expiring leases at once expire each once', async () => {
    const { store, replica } = await site.open();
    const other = await replica();
    const w = await world(store);
    await store.schedules.createSchedules(
      Array.from({ length: 40 }, (_, i) => schedule(w, { name: `s${i}`, runTimes: 0 })),
      T0,
      S,
    );
    const runs = await Promise.all([store, other, store, other].map((s) => s.schedules.runDueSchedules(T0 + 1, S)));
    expect(runs.reduce((n, r) => n + r.queued, 0)).toBe(40);
    expect((await store.tasks.taskCounts({}, S)).queued).toBe(40);
    await store.leases.reserve(w.clusterId, 'i', 40, T0 + 2, T0 + 1000, S);
    const expired = await Promise.all([store, other, store, other].map((s) => s.leases.expireLeases(T0 + 2000, rules, S)));
    expect(expired.reduce((n, e) => n + e.requeued, 0)).toBe(40);
    const tasks = await store.tasks.listTasks({ projectId: w.projectId, page: 0, perPage: 100 }, S);
    expect(tasks.every((t) => t.lostCount === 1 && t.status === 'queued')).toBe(true);
  });

  it('retention deletes finished tasks that ended before the cut, never unfinished ones', async () => {
    const { store, replica } = await site.open();
    const w = await world(store);
    const [old, fresh, waiting] = await store.tasks.queueTasks([newTask(w), newTask(w), newTask(w)], T0, S);
    if (old === undefined || fresh === undefined || waiting === undefined) throw new Error('not queued');
    await store.tasks.cancelTask(w.projectId, old.id, T0 + 10, S);
    await store.tasks.cancelTask(w.projectId, fresh.id, T0 + 1000, S);
    const other = await replica();
    const purged = await Promise.all([store.retention.purgeFinished(T0 + 500, 100, S), other.retention.purgeFinished(T0 + 500, 100, S)]);
    expect(purged.flat()).toEqual([old.id]);
    expect(await store.tasks.getTask(w.projectId, old.id, S)).toBeUndefined();
    expect(await store.tasks.getTask(w.projectId, fresh.id, S)).toBeDefined();
    expect(await store.retention.purgeFinished(T0 + 1_000_000, 100, S)).toEqual([fresh.id]);
    expect((await store.tasks.getTask(w.projectId, waiting.id, S))?.status).toBe('queued');
  });

  it.runIf(kind === 'postgres')('ready signal: what one replica publishes wakes the others, not itself', async () => {
    const { store, replica } = await site.open();
    const other = await replica();
    const seenHere: string[] = [];
    const seenThere: string[] = [];
    store.ready.subscribe((r) => seenHere.push(...r.map((x) => `${x.clusterId}:${x.count}`)));
    const got = new Promise<void>((resolve) => {
      other.ready.subscribe((r) => {
        seenThere.push(...r.map((x) => `${x.clusterId}:${x.count}`));
        resolve();
      });
    });
    // The listener connects asynchronously: publish until it hears (a notification sent before LISTEN is not kept).
    const timer = setInterval(() => store.ready.publish([{ clusterId: 'k1', count: 2 }]), 50);
    await got;
    clearInterval(timer);
    expect(seenThere[0]).toBe('k1:2');
    expect(seenHere).toEqual([]);
  });
});
