// The runner protocol (docs/protocol.md): reserve (long-poll), heartbeat, start, log, finish.
// Only the cluster's own token may call these.
import { IronError, isIronError } from '../../errors.js';
import { sendJson } from '../http/json.js';
import { HANDLED, type Ctx, type Handler } from '../context.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
import type { Router } from '../http/router.js';
import { isId, rfc3339 } from '../ids.js';
import { packageRef } from '../code-package.js';
import { dockerAuthFor } from '../registry.js';
import type { Cluster, FinishStatus, ReservedTask, RunnerOutcome } from '../store/types.js';
import { optBool, optFloat, optNumber, optString } from '../validate.js';
import type { Parked, WakeReason } from '../wakeups.js';
import { wakeFreedSlot } from './tasks.js';

const FINISH_STATUSES: readonly FinishStatus[] = ['complete', 'error', 'cancelled', 'timeout', 'killed', 'requeue'];
const MAX_RESERVE = 100;
const MAX_LOG_CHUNK = 8 * 1024 * 1024;
const MAX_HEARTBEAT_TASKS = 1024;

export function registerRunnerRoutes(r: Router<Handler>): void {
  r.add('POST', '/2/clusters/:cid/runner/reserve', async (ctx) => {
    const cid = await ctx.runner();
    const b = await ctx.json();
    const instanceId = instance(b);
    const n = optNumber(b, 'n', 1, MAX_RESERVE) ?? 1;
    const waitMs = Math.min(ctx.deps.config.maxWaitMs, Math.round((optFloat(b, 'wait', 0, 30) ?? 0) * 1000));
    // Only a runner that sends a cursor takes part in warm-ups (older runners never see the field).
    const warmCursor = optString(b, 'warm_cursor', 64);
    if ((await ctx.deps.store.getCluster(cid)) === undefined) throw notFound('Cluster not found');
    const reserved = await reserveLongPoll(ctx, cid, instanceId, n, Date.now() + waitMs, warmCursor);
    // Read after the long-poll: a cluster updated while the reserve was parked applies to these tasks.
    const cluster = reserved.length === 0 ? undefined : await ctx.deps.store.getCluster(cid);
    if (reserved.length > 0 && cluster === undefined) throw notFound('Cluster not found');
    const tasks = cluster === undefined ? [] : await Promise.all(reserved.map((rt) => reservedJson(ctx, cluster, rt)));
    const body: Record<string, unknown> = { tasks, heartbeat_interval_ms: ctx.deps.config.heartbeatIntervalMs };
    if (warmCursor !== undefined) Object.assign(body, await warmJson(ctx, cid, warmCursor));
    if (reserved.length === 0) return body;
    // A reservation only counts if the runner receives it. When the runner hung up first (it is
    // draining, or the connection broke), give the tasks back now instead of after lease expiry.
    if (!(await deliver(ctx, body))) await giveBack(ctx, cid, reserved);
    return HANDLED;
  });

  // A draining runner ends its own parked reserve so that the answer (empty, or tasks reserved a moment
  // earlier) reaches it and it can give them back, instead of hanging up and stranding them.
  r.add('POST', '/2/clusters/:cid/runner/release', async (ctx) => {
    const cid = await ctx.runner();
    const b = await ctx.json();
    const released = ctx.deps.wakeups.release(cid, instance(b));
    return { msg: 'Released', released };
  });

  r.add('POST', '/2/clusters/:cid/runner/heartbeat', async (ctx) => {
    const cid = await ctx.runner();
    const b = await ctx.json();
    const instanceId = instance(b);
    const raw = b['tasks'] ?? [];
    // A runner holds at most CONCURRENCY (<= 1024) tasks; each item is a query in one transaction.
    if (!Array.isArray(raw) || raw.length > MAX_HEARTBEAT_TASKS) throw badRequest(`tasks must be an array of at most ${MAX_HEARTBEAT_TASKS} {id, reservation_id}`);
    const items = raw.map((t: unknown, i) => {
      if (t === null || typeof t !== 'object') throw badRequest(`tasks[${i}] must be an object`);
      const o = t as Record<string, unknown>;
      const id = optString(o, 'id') ?? '';
      const reservationId = optString(o, 'reservation_id') ?? '';
      if (!isId(id) || reservationId === '') throw badRequest(`tasks[${i}] needs id and reservation_id`);
      return { id, reservationId };
    });
    const now = Date.now();
    const leaseMs = ctx.deps.config.leaseMs;
    const warmCursor = optString(b, 'warm_cursor', 64);
    const out = await ctx.deps.store.heartbeat(cid, instanceId, items, now, leaseMs);
    ctx.deps.ticker.poke(now + leaseMs);
    const warm = warmCursor === undefined ? {} : await warmJson(ctx, cid, warmCursor);
    return { ...out, lease_expires_at: rfc3339(now + leaseMs), heartbeat_interval_ms: ctx.deps.config.heartbeatIntervalMs, ...warm };
  });

  r.add('POST', '/2/clusters/:cid/runner/tasks/:tid/start', async (ctx) => {
    const cid = await ctx.runner();
    const b = await ctx.json();
    const out = await ctx.deps.store.startTask(cid, ctx.id('tid', 'task'), reservation(b), Date.now());
    const t = outcome(out);
    return { msg: 'Started', status: t.status };
  });

  r.add('POST', '/2/clusters/:cid/runner/tasks/:tid/log', async (ctx) => {
    const cid = await ctx.runner();
    const id = ctx.id('tid', 'task');
    const offsetText = ctx.query.get('offset') ?? '';
    // At most 15 digits: beyond 2^53 a Number is no longer the offset that was sent.
    if (!/^\d{1,15}$/.test(offsetText)) throw badRequest('offset must be a whole number of bytes (at most 15 digits)');
    const rid = ctx.query.get('reservation_id') ?? '';
    if (rid === '') throw badRequest('reservation_id is required');
    // Counted from before the body is read: a later chunk that overtakes this one waits for it.
    const release = ctx.deps.logs.enter(id);
    try {
      // Only the current reservation of a task still held by a runner may write (not a finished task).
      const task = outcome(await ctx.deps.store.logTarget(cid, id, rid));
      // Full already: refused before the body is read.
      if (task.logSize >= ctx.deps.config.maxLogBytes) throw logLimit(ctx);
      const parts = await ctx.bodyParts(MAX_LOG_CHUNK);
      const writer = { reservationId: rid, attempt: task.attempt };
      const res = await ctx.deps.logs.append(id, writer, Number(offsetText), parts);
      if (!res.ok) throw conflict(`offset ${offsetText} does not match the log size ${res.size}`, { size: res.size });
      await ctx.deps.store.setLogSize(id, res.total);
      if (res.capped === true) {
        await ctx.deps.store.markLogTruncated(id);
        throw logLimit(ctx, res.size);
      }
      return { size: res.size };
    } finally {
      release();
    }
  });

  r.add('POST', '/2/clusters/:cid/runner/tasks/:tid/finish', async (ctx) => {
    const cid = await ctx.runner();
    const b = await ctx.json();
    const status = optString(b, 'status') ?? '';
    if (!(FINISH_STATUSES as readonly string[]).includes(status)) {
      throw badRequest(`status must be one of ${FINISH_STATUSES.join(', ')}`);
    }
    const out = await ctx.deps.store.finishTask(cid, ctx.id('tid', 'task'), {
      reservationId: reservation(b),
      status: status as FinishStatus,
      exitCode: optNumber(b, 'exit_code', -2_147_483_648, 2_147_483_647) ?? null,
      msg: optString(b, 'msg', 4096) ?? '',
      durationMs: optNumber(b, 'duration_ms', 0, Number.MAX_SAFE_INTEGER, { ceil: true }) ?? null,
      logSize: optNumber(b, 'log_size', 0, Number.MAX_SAFE_INTEGER) ?? null,
      logTruncated: optBool(b, 'log_truncated') ?? false,
    }, Date.now());
    const t = outcome(out);
    ctx.deps.metrics.finished.inc({ status });
    // A requeued task is ready again, and a code retry may have queued one, in the task's cluster;
    // the freed slot may let a task of the same code run (max_concurrency); a delayed retry arms the ticker.
    ctx.deps.wakeups.wake(t.clusterId, 1);
    await wakeFreedSlot(ctx, t.codeId);
    ctx.deps.ticker.poke(Date.now());
    return { msg: 'Finished', status: t.status };
  });
}

async function reserveLongPoll(ctx: Ctx, cid: string, instanceId: string, n: number, deadline: number, warmCursor: string | undefined): Promise<ReservedTask[]> {
  const released = new AbortController();
  const removeRelease = ctx.deps.wakeups.onRelease(cid, instanceId, () => released.abort());
  // A warm-up listed for this runner ends the long-poll early (with no tasks) so it can start pulling.
  const warm = warmCursor === undefined ? () => false : () => ctx.deps.warmups.pending(cid, warmCursor, Date.now());
  try {
    return await reserveLoop(ctx, cid, instanceId, n, deadline, AbortSignal.any([ctx.signal, released.signal]), warm);
  } finally {
    removeRelease();
  }
}


async function reserveLoop(
  ctx: Ctx, cid: string, instanceId: string, n: number, deadline: number, stop: AbortSignal, warm: () => boolean,
): Promise<ReservedTask[]> {
  const { wakeups } = ctx.deps;
  let woken = false;
  for (;;) {
    // Park first, then look: a task queued in between wakes this waiter instead of being missed.
    let parked: Parked;
    try {
      parked = wakeups.park(cid, deadline - Date.now(), stop);
    } catch (err) {
      // Too many reserves parked on this cluster: a look without waiting, then "retry later".
      if (!isIronError(err, 'ERR_SERVER_BUSY')) throw err;
      const got = await look(ctx, cid, instanceId, n);
      if (got.length > 0) return got;
      throw err;
    }
    let reason: WakeReason | undefined;
    try {
      if (stop.aborted) return [];
      const got = await look(ctx, cid, instanceId, n);
      // Woken and filled: more tasks may be waiting for the next reserve.
      if (woken && got.length === n) wakeups.wake(cid, 1);
      // A warm-up listed for this runner ends the long-poll so that it can start pulling.
      if (got.length > 0 || Date.now() >= deadline || warm()) return got;
      reason = await parked.promise;
    } finally {
      parked.cancel();
    }
    woken = reason === 'woken';
    if (Date.now() >= deadline || stop.aborted) {
      // This reserve was meant to take a task but is leaving: hand the wake-up to another one.
      if (woken) wakeups.wake(cid, 1);
      return [];
    }
  }
}

async function look(ctx: Ctx, cid: string, instanceId: string, n: number): Promise<ReservedTask[]> {
  const now = Date.now();
  ctx.deps.metrics.reserveLooks.inc();
  const got = await ctx.deps.store.reserve(cid, instanceId, n, now, ctx.deps.config.leaseMs);
  if (got.length > 0) {
    ctx.deps.metrics.reservations.inc({ cluster: cid }, got.length);
    ctx.deps.ticker.poke(now + ctx.deps.config.leaseMs);
  }
  return got;
}

async function reservedJson(ctx: Ctx, cluster: Cluster, { task: t, revision: rev }: ReservedTask): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {
    id: t.id, project_id: t.projectId, code_id: t.codeId, code_name: t.codeName, code_history_id: t.codeHistoryId,
    code_rev: String(t.codeRev), cluster: t.clusterId, image: rev.image, command: rev.command, env_vars: rev.envVars,
    config: rev.config, payload: t.payload, timeout: t.timeout, priority: t.priority, memory: cluster.memory,
    disk: cluster.diskSpace, reservation_id: t.reservationId, lease_expires_at: rfc3339(t.leaseExpiresAt), attempt: t.attempt,
  };
  if (cluster.cpuShare !== null) out['cpu_share'] = cluster.cpuShare;
  const pkg = await packageRef(ctx, rev);
  if (pkg !== undefined) out['code_package'] = pkg;
  const auth = dockerAuthFor(rev.image, await ctx.deps.store.credentials(t.projectId));
  if (auth !== undefined) out['docker_auth'] = auth;
  return out;
}

/** The images to warm that this runner has not seen, each with its project's credentials for that registry. */
async function warmJson(ctx: Ctx, cid: string, cursor: string): Promise<{ warm: Array<Record<string, unknown>>; warm_cursor: string }> {
  const { entries, cursor: next } = ctx.deps.warmups.since(cid, cursor, Date.now());
  const warm = await Promise.all(entries.map(async (e) => {
    const item: Record<string, unknown> = { image: e.image, project_id: e.projectId };
    const auth = dockerAuthFor(e.image, await ctx.deps.store.credentials(e.projectId));
    if (auth !== undefined) item['docker_auth'] = auth;
    return item;
  }));
  return { warm, warm_cursor: next };
}

function instance(b: Record<string, unknown>): string {
  const id = optString(b, 'instance_id', 128) ?? '';
  if (id === '') throw badRequest('instance_id is required');
  return id;
}

function reservation(b: Record<string, unknown>): string {
  const id = optString(b, 'reservation_id', 64) ?? '';
  if (id === '') throw badRequest('reservation_id is required');
  return id;
}

/** The log is at the API's cap: this and further output are dropped; the runner stops shipping and reports the outcome. */
function logLimit(ctx: Ctx, size?: number): IronError {
  return new IronError('ERR_SERVER_LOG_LIMIT', `the task log reached the limit of ${ctx.deps.config.maxLogBytes} bytes; further output is dropped`, {
    details: size === undefined ? { reason: 'log_limit' } : { reason: 'log_limit', size },
  });
}

function outcome<T>(o: RunnerOutcome<T>): T {
  if (o.ok) return o.task;
  if (o.reason === 'not_found') throw notFound('Task not found in this cluster');
  if (o.reason === 'cancelled') throw new IronError('ERR_SERVER_CONFLICT', 'task was cancelled; do not run it', { details: { reason: 'cancelled' } });
  if (o.reason === 'finished') throw new IronError('ERR_SERVER_CONFLICT', 'the task has finished; its log is closed', { details: { reason: 'finished' } });
  throw new IronError('ERR_SERVER_CONFLICT', 'reservation superseded: this task is no longer yours', { details: { reason: 'superseded' } });
}

/** Writes the answer; false when the client was gone before it could be handed to the socket. */
function deliver(ctx: Ctx, body: unknown): Promise<boolean> {
  const res = ctx.res;
  if (ctx.signal.aborted || res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onFinish = (): void => done(true);
    const onClose = (): void => done(res.writableFinished);
    const done = (ok: boolean): void => {
      res.off('finish', onFinish);
      res.off('close', onClose);
      resolve(ok);
    };
    res.once('finish', onFinish);
    res.once('close', onClose);
    sendJson(res, 200, body);
  });
}

async function giveBack(ctx: Ctx, cid: string, reserved: readonly ReservedTask[]): Promise<void> {
  const now = Date.now();
  for (const { task } of reserved) {
    if (task.reservationId === null) continue;
    await ctx.deps.store.finishTask(cid, task.id, {
      reservationId: task.reservationId, status: 'requeue', exitCode: null, msg: '', durationMs: null, logSize: null,
    }, now);
  }
  ctx.deps.log.info({ cluster_id: cid, tasks: reserved.length }, 'reserve answer not delivered (runner hung up); tasks given back');
  ctx.deps.wakeups.wake(cid, reserved.length);
}

