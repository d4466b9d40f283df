// The runner protocol (docs/protocol.md): reserve (long-poll), release, heartbeat, start, log, finish
// (also finish-with-log: the finish carrying the task's last output).
// Only the cluster's own token may call these. Each route parses, calls the reservation service
// and presents its answer.
import {
  EXIT_CODE_RANGE,
  MAX_FINISH_MSG_BYTES,
  MAX_HEARTBEAT_TASKS,
  MAX_INSTANCE_ID_BYTES,
  MAX_LOG_CHUNK_BYTES,
  MAX_LOG_OFFSET_DIGITS,
  MAX_RESERVATION_ID_BYTES,
  MAX_RESERVE_N,
  MAX_RESERVE_WAIT_S,
  MAX_WARM_CURSOR_BYTES,
} from '../../protocol/limits.js';
import type { ReleaseResponse } from '../../protocol/runner.js';
import { RUNNER_REQUEST_SCHEMAS } from '../../protocol/schemas.js';
import { FINISH_STATUSES, isFinishStatus } from '../../protocol/statuses.js';
import { sendJson } from '../http/json.js';
import { HANDLED, type Ctx, type Handler } from '../context.js';
import { badRequest } from '../http/errors.js';
import type { RouteOptions, Router } from '../http/router.js';
import type { TaskUsage } from '../store/records.js';
import { isId } from '../ids.js';
import { readRunnerReport } from '../runner-report.js';
import type { LogTail } from '../services/reservations.js';
import { optBool, optFloat, optNumber, optString } from '../validate.js';

const OFFSET_RE = new RegExp(`^\\d{1,${MAX_LOG_OFFSET_DIGITS}}$`);

/**
 * The protocol's schema of a route's JSON body (src/protocol/schemas.ts). It is checked when the
 * handler reads the body (`ctx.json()`), after the cluster token, so a caller without the token
 * learns nothing from a 400. Query strings are left to the handler for the same reason.
 */
function bodySchema(key: keyof typeof RUNNER_REQUEST_SCHEMAS): RouteOptions {
  const s = RUNNER_REQUEST_SCHEMAS[key];
  return 'body' in s ? { schema: { body: s.body } } : {};
}

export function registerRunnerRoutes(r: Router<Handler>): void {
  r.add(
    'POST',
    '/2/clusters/:cid/runner/reserve',
    async (ctx) => {
      const cid = await ctx.runner();
      const b = await ctx.json();
      const instanceId = instance(b);
      const n = optNumber(b, 'n', 1, MAX_RESERVE_N) ?? 1;
      const waitMs = Math.min(ctx.deps.config.maxWaitMs, Math.round((optFloat(b, 'wait', 0, MAX_RESERVE_WAIT_S) ?? 0) * 1000));
      const warmCursor = optString(b, 'warm_cursor', MAX_WARM_CURSOR_BYTES);
      const svc = ctx.deps.services.reservations;
      const out = await svc.reserve(cid, { instanceId, n, waitMs, warmCursor }, ctx.signal);
      if (out.reservations.length === 0) return out.answer;
      if (!(await deliver(ctx, out.answer))) await svc.giveBack(cid, out.reservations);
      return HANDLED;
    },
    bodySchema('POST /2/clusters/:cid/runner/reserve'),
  );

  // A draining runner ends its own parked reserve so that the answer (empty, or tasks reserved a moment
  // earlier) reaches it and it can give them back, instead of hanging up and stranding them.
  r.add(
    'POST',
    '/2/clusters/:cid/runner/release',
    async (ctx): Promise<ReleaseResponse> => {
      const cid = await ctx.runner();
      const b = await ctx.json();
      return { msg: 'Released', released: ctx.deps.services.reservations.release(cid, instance(b)) };
    },
    bodySchema('POST /2/clusters/:cid/runner/release'),
  );

  r.add(
    'POST',
    '/2/clusters/:cid/runner/heartbeat',
    async (ctx) => {
      const cid = await ctx.runner();
      const b = await ctx.json();
      const instanceId = instance(b);
      const raw = b['tasks'] ?? [];
      // A runner holds at most CONCURRENCY (<= 1024) tasks; each item is a query in one transaction.
      if (!Array.isArray(raw) || raw.length > MAX_HEARTBEAT_TASKS) throw badRequest(`tasks must be an array of at most ${MAX_HEARTBEAT_TASKS} {id, reservation_id}`);
      const tasks = raw.map((t: unknown, i) => {
        if (t === null || typeof t !== 'object') throw badRequest(`tasks[${i}] must be an object`);
        const o = t as Record<string, unknown>;
        const id = optString(o, 'id') ?? '';
        const reservationId = optString(o, 'reservation_id') ?? '';
        if (!isId(id) || reservationId === '') throw badRequest(`tasks[${i}] needs id and reservation_id`);
        return { id, reservationId };
      });
      const warmCursor = optString(b, 'warm_cursor', MAX_WARM_CURSOR_BYTES);
      const report = readRunnerReport(b, cid, instanceId);
      if (report !== undefined) ctx.deps.services.fleet.seen(report, Date.now());
      return ctx.deps.services.reservations.heartbeat(cid, { instanceId, tasks, warmCursor }, ctx.signal);
    },
    bodySchema('POST /2/clusters/:cid/runner/heartbeat'),
  );

  r.add(
    'POST',
    '/2/clusters/:cid/runner/tasks/:tid/start',
    async (ctx) => {
      const cid = await ctx.runner();
      const b = await ctx.json();
      return ctx.deps.services.reservations.start(cid, ctx.id('tid', 'task'), reservation(b), ctx.signal);
    },
    bodySchema('POST /2/clusters/:cid/runner/tasks/:tid/start'),
  );

  r.add('POST', '/2/clusters/:cid/runner/tasks/:tid/log', async (ctx) => {
    const cid = await ctx.runner();
    const taskId = ctx.id('tid', 'task');
    const offset = ctx.query.get('offset') ?? '';
    if (!OFFSET_RE.test(offset)) throw badRequest(`offset must be a whole number of bytes (at most ${MAX_LOG_OFFSET_DIGITS} digits)`);
    const reservationId = ctx.query.get('reservation_id') ?? '';
    if (reservationId === '') throw badRequest('reservation_id is required');
    const body = (): Promise<Buffer[]> => ctx.bodyParts(MAX_LOG_CHUNK_BYTES);
    const size = await ctx.deps.services.reservations.appendLog(cid, { taskId, reservationId, offset, body }, ctx.signal);
    return { size };
  });

  // The finish, and the finish carrying the last output: a path of its own, so that a replica that
  // predates it answers 404 instead of finishing the task without the bytes (docs/protocol.md).
  r.add('POST', '/2/clusters/:cid/runner/tasks/:tid/finish', finishRoute(false), bodySchema('POST /2/clusters/:cid/runner/tasks/:tid/finish'));
  r.add('POST', '/2/clusters/:cid/runner/tasks/:tid/finish-with-log', finishRoute(true), bodySchema('POST /2/clusters/:cid/runner/tasks/:tid/finish-with-log'));
}

function finishRoute(withLog: boolean): Handler {
  return async (ctx) => {
    const cid = await ctx.runner();
    const b = await ctx.json();
    const status = optString(b, 'status') ?? '';
    if (!isFinishStatus(status)) throw badRequest(`status must be one of ${FINISH_STATUSES.join(', ')}`);
    return ctx.deps.services.reservations.finish(
      cid,
      ctx.id('tid', 'task'),
      {
        reservationId: reservation(b),
        status,
        exitCode: optNumber(b, 'exit_code', EXIT_CODE_RANGE.min, EXIT_CODE_RANGE.max) ?? null,
        msg: optString(b, 'msg', MAX_FINISH_MSG_BYTES) ?? '',
        durationMs: optNumber(b, 'duration_ms', 0, Number.MAX_SAFE_INTEGER, { ceil: true }) ?? null,
        logSize: optNumber(b, 'log_size', 0, Number.MAX_SAFE_INTEGER) ?? null,
        logTruncated: optBool(b, 'log_truncated') ?? false,
        ...readUsage(b),
      },
      withLog ? readTail(b, ctx.deps.services.reservations.finishLogMaxBytes) : undefined,
      ctx.signal,
    );
  };
}

function instance(b: Record<string, unknown>): string {
  const id = optString(b, 'instance_id', MAX_INSTANCE_ID_BYTES) ?? '';
  if (id === '') throw badRequest('instance_id is required');
  return id;
}

/** A finish-with-log's `log_tail` (its shape is the schema's); bytes past what reserve offered are refused. */
function readTail(b: Record<string, unknown>, maxBytes: number): LogTail {
  const o = b['log_tail'] as { offset: number; data: string };
  // The schema allows only the base64 alphabet; a length that is not a whole number of quads is not base64.
  if (o.data.length % 4 !== 0) throw badRequest('log_tail.data must be padded base64');
  const data = Buffer.from(o.data, 'base64');
  if (data.length > maxBytes) throw badRequest(`log_tail carries ${data.length} bytes, more than the ${maxBytes} a finish may carry (finish_log_max_bytes)`);
  return { offset: o.offset, data };
}

/** A finish's optional `usage` (peak memory bytes, CPU seconds). */
function readUsage(b: Record<string, unknown>): { usage?: TaskUsage } {
  const u = b['usage'];
  if (u === undefined || u === null) return {};
  if (typeof u !== 'object' || Array.isArray(u)) throw badRequest('usage must be an object');
  const o = u as Record<string, unknown>;
  const peakMemory = optNumber(o, 'peak_memory', 0, Number.MAX_SAFE_INTEGER);
  const cpuSeconds = optFloat(o, 'cpu_seconds', 0, 1e12);
  if (peakMemory === undefined || cpuSeconds === undefined) throw badRequest('usage needs peak_memory and cpu_seconds');
  return { usage: { peakMemory, cpuSeconds } };
}

function reservation(b: Record<string, unknown>): string {
  const id = optString(b, 'reservation_id', MAX_RESERVATION_ID_BYTES) ?? '';
  if (id === '') throw badRequest('reservation_id is required');
  return id;
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
