// The service layer without HTTP: the rules of task-rules.ts as a table, and the queue path
// (queue -> wake a parked reserve -> reservation -> finish) driven through the services over a real
// SQLite store, as the HTTP layer (whichever it is) drives them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serverConfig } from '../../src/config/server.js';
import { silentLogger } from '../../src/log.js';
import { FINAL_STATUSES, TASK_STATUSES } from '../../src/protocol/statuses.js';
import { reserveResponseSchema } from '../../src/protocol/schemas.js';
import { Admin } from '../../src/server/admin.js';
import { createServices, type Services } from '../../src/server/services/services.js';
import { taskRules } from '../../src/server/services/task-rules.js';
import { LogFiles } from '../../src/server/store/logs.js';
import type { Store } from '../../src/server/store/ports.js';
import type { Task } from '../../src/server/store/records.js';
import { openSqliteStore } from '../../src/server/store/sqlite/index.js';

function task(over: Partial<Task> = {}): Task {
  return {
    id: 'a'.repeat(24),
    projectId: 'p'.repeat(24),
    codeId: 'c'.repeat(24),
    codeName: 'hello',
    codeHistoryId: 'h'.repeat(24),
    codeRev: 1,
    clusterId: 'k'.repeat(24),
    status: 'running',
    priority: 1,
    timeout: 60,
    delay: 0,
    payload: '{"x":1}',
    label: 'l',
    msg: '',
    percent: null,
    createdAt: 1,
    updatedAt: 1,
    availableAt: 1,
    startTime: 1,
    endTime: null,
    duration: null,
    exitCode: null,
    attempt: 1,
    lostCount: 0,
    reservationId: 'r'.repeat(24),
    instanceId: 'i',
    leaseExpiresAt: 2,
    cancelPending: false,
    retryCount: 0,
    retryOf: null,
    retryTaskId: null,
    scheduleId: 's'.repeat(24),
    logSize: 0,
    logTruncated: false,
    peakMemory: null,
    cpuSeconds: null,
    ...over,
  };
}

describe('task rules', () => {
  const rules = taskRules(3);

  it('a task is held by its reservation while preparing or running, or while a user cancel waits for the runner', () => {
    for (const status of TASK_STATUSES) {
      expect(rules.held(task({ status })), status).toBe(status === 'preparing' || status === 'running');
      expect(rules.held(task({ status, cancelPending: true })), `${status} + cancel`).toBe(true);
    }
  });

  it('an expired lease requeues below MAX_ATTEMPTS losses, ends the task at it, and only releases a user cancel', () => {
    expect(rules.leaseLost(task({ lostCount: 0 }))).toBe('requeue');
    expect(rules.leaseLost(task({ lostCount: 1 }))).toBe('requeue');
    expect(rules.leaseLost(task({ lostCount: 2 }))).toBe('fail');
    expect(rules.leaseLost(task({ lostCount: 5 }))).toBe('fail');
    expect(rules.leaseLost(task({ lostCount: 2, cancelPending: true }))).toBe('release_cancel');
    expect(taskRules(1).leaseLost(task({ lostCount: 0 }))).toBe('fail');
  });

  it('a start runs a preparing task once, and refuses a stale reservation or a task the user cancelled', () => {
    const rid = 'r'.repeat(24);
    expect(rules.start(task({ status: 'preparing' }), rid)).toBe('start');
    expect(rules.start(task({ status: 'running' }), rid)).toBe('running');
    expect(rules.start(task({ status: 'preparing' }), 'x'.repeat(24))).toBe('superseded');
    expect(rules.start(task({ status: 'cancelled', cancelPending: true }), rid)).toBe('cancelled');
    for (const status of ['queued', ...FINAL_STATUSES] as const) expect(rules.start(task({ status }), rid), status).toBe('superseded');
  });

  it('a finish ends, gives back, closes a user cancel or repeats, by the task it finds', () => {
    const rid = 'r'.repeat(24);
    const f = { reservationId: rid, status: 'error', exitCode: 3, msg: 'exit code 3', durationMs: 40, logSize: 7, logTruncated: true } as const;
    expect(rules.finish(task(), { ...f, reservationId: 'x'.repeat(24) }, 100)).toEqual({ kind: 'superseded' });
    expect(rules.finish(task({ logSize: 9 }), f, 100)).toEqual({ kind: 'end', markTruncated: true, status: 'error', msg: 'exit code 3', exitCode: 3, duration: 40, logSize: 9 });
    // Measured from start when the runner sends no duration; none for a task that never started.
    expect(rules.finish(task({ startTime: 60 }), { ...f, durationMs: null }, 100)).toMatchObject({ kind: 'end', duration: 40 });
    expect(rules.finish(task({ status: 'preparing', startTime: null }), f, 100)).toMatchObject({ kind: 'end', duration: null });
    expect(rules.finish(task(), { ...f, status: 'requeue', logTruncated: false }, 100)).toEqual({ kind: 'requeue', markTruncated: false });
    expect(rules.finish(task({ status: 'cancelled', cancelPending: true }), f, 100)).toEqual({
      kind: 'close_cancel',
      markTruncated: true,
      exitCode: 3,
      duration: 40,
      logSize: 7,
    });
    for (const status of FINAL_STATUSES) expect(rules.finish(task({ status }), f, 100), status).toEqual({ kind: 'repeat' });
  });

  it('error and timeout are retried while retries are left, as a linked copy after retries_delay', () => {
    for (const status of FINAL_STATUSES) {
      const t = task({ status, retryCount: 1 });
      const next = rules.codeRetry(t, { retries: 2, retriesDelay: 30 });
      if (status === 'error' || status === 'timeout') {
        expect(next).toEqual({
          projectId: t.projectId,
          codeId: t.codeId,
          clusterId: t.clusterId,
          priority: 1,
          timeout: 60,
          delay: 30,
          payload: '{"x":1}',
          label: 'l',
          scheduleId: t.scheduleId,
          retryOf: t.id,
          retryCount: 2,
        });
      } else {
        expect(next, status).toBeNull();
      }
      expect(rules.codeRetry(task({ status, retryCount: 2 }), { retries: 2, retriesDelay: 30 }), `${status}, none left`).toBeNull();
    }
  });
});

describe('the queue path through the services', () => {
  let dir: string;
  let store: Store;
  let services: Services;
  let ids: { projectId: string; clusterId: string };
  const signal = (): AbortSignal => AbortSignal.timeout(20_000);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iron-services-'));
    const config = serverConfig({ port: 0, dataDir: dir });
    store = openSqliteStore(dir);
    const logs = new LogFiles(dir, config.maxLogBytes);
    await logs.init();
    services = createServices({ config, store, logs, log: silentLogger() });
    const boot = await new Admin(store, config).bootstrapIfEmpty();
    if (boot === null) throw new Error('no bootstrap');
    ids = { projectId: boot.projectId, clusterId: boot.clusterId };
    services.start();
  });
  afterEach(async () => {
    await services.close();
    await services.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a parked reserve is woken by a queued task, gets it in the protocol shape, and its finish ends the task', async () => {
    const { projectId, clusterId } = ids;
    await services.codes.register(
      undefined,
      () => ({
        projectId,
        name: 'hello',
        image: 'iron-test/busybox:1',
        command: '',
        envVars: { K: 'V' },
        config: '',
        runtime: '',
        fileName: '',
        checksum: '',
        codeSize: 0,
        sha256: '',
        defaultPriority: null,
        maxConcurrency: null,
        retries: 0,
        retriesDelay: 0,
      }),
      signal(),
    );
    const parked = services.reservations.reserve(clusterId, { instanceId: 'r1', n: 1, waitMs: 15_000, warmCursor: undefined }, signal());
    const lookups = services.queue.lookups;
    const code = await lookups.codeByName(projectId, 'hello', signal());
    const cluster = await lookups.usableCluster(projectId, '', signal());
    const [queued] = await services.queue.queue(
      [
        {
          projectId,
          codeId: code?.id ?? '',
          clusterId: cluster.id,
          priority: 0,
          timeout: 60,
          delay: 0,
          payload: '{}',
          label: '',
        },
      ],
      'api',
      signal(),
    );
    const { answer, reservations } = await parked;
    expect(new Ajv().validate(reserveResponseSchema, answer)).toBe(true);
    expect(answer.tasks.map((t) => t.id)).toEqual([queued?.id]);
    expect(answer.tasks[0]).toMatchObject({ code_name: 'hello', env_vars: { K: 'V' }, attempt: 1, reservation_id: reservations[0]?.reservationId });
    const id = queued?.id ?? '';
    const rid = reservations[0]?.reservationId ?? '';
    expect(await services.reservations.start(clusterId, id, rid, signal())).toEqual({ msg: 'Started', status: 'running' });
    const beat = await services.reservations.heartbeat(clusterId, { instanceId: 'r1', tasks: [{ id, reservationId: rid }], warmCursor: undefined }, signal());
    expect(beat).toMatchObject({ cancel: [], lost: [] });
    expect(
      await services.reservations.finish(
        clusterId,
        id,
        {
          reservationId: rid,
          status: 'complete',
          exitCode: 0,
          msg: '',
          durationMs: 5,
          logSize: 0,
        },
        undefined,
        signal(),
      ),
    ).toEqual({ msg: 'Finished', status: 'complete' });
    expect((await services.queue.get(projectId, id, signal())).status).toBe('complete');
    // Fenced: the reservation is no longer held.
    const again = await services.reservations.heartbeat(clusterId, { instanceId: 'r1', tasks: [{ id, reservationId: rid }], warmCursor: undefined }, signal());
    expect(again.lost).toEqual([id]);
  });

  it('a reservation whose answer was not delivered is given back and reserved again at the next attempt', async () => {
    const { projectId, clusterId } = ids;
    const code = await services.codes.register(
      undefined,
      () => ({
        projectId,
        name: 'hello',
        image: 'iron-test/busybox:1',
        command: '',
        envVars: {},
        config: '',
        runtime: '',
        fileName: '',
        checksum: '',
        codeSize: 0,
        sha256: '',
        defaultPriority: null,
        maxConcurrency: null,
        retries: 0,
        retriesDelay: 0,
      }),
      signal(),
    );
    await services.queue.queue([{ projectId, codeId: code.id, clusterId, priority: 0, timeout: 60, delay: 0, payload: '{}', label: '' }], 'api', signal());
    const first = await services.reservations.reserve(clusterId, { instanceId: 'r1', n: 1, waitMs: 0, warmCursor: undefined }, signal());
    expect(first.reservations).toHaveLength(1);
    await services.reservations.giveBack(clusterId, first.reservations);
    const second = await services.reservations.reserve(clusterId, { instanceId: 'r2', n: 1, waitMs: 0, warmCursor: undefined }, signal());
    expect(second.answer.tasks.map((t) => [t.id, t.attempt])).toEqual([[first.answer.tasks[0]?.id, 2]]);
  });
});
