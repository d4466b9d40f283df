// The runner side of tasks in PostgreSQL: reservation, leases, start, finish, deadlines (the rules of
// sqlite/runner.ts). Several replicas run these at once, so every read-modify-write locks its rows:
// a reserve takes tasks with FOR UPDATE SKIP LOCKED (two replicas never hand out one task, and
// neither waits for the other), a code with a max_concurrency has its row locked by each reserve so
// the count of its running tasks stays exact, and lease expiry and promotion skip rows another
// replica holds (a lease is expired once: the row lock re-checks the expiry against the newest row).
import { newId } from '../../ids.js';
import type { TaskRules } from '../ports.js';
import { ReadyCounter } from '../ready-counter.js';
import type { ExpiredLeases, FinishInput, HeartbeatResult, ReadyCount, Reservation, RetrySettings, RunnerOutcome, Task } from '../records.js';
import { toRevision, toTask } from '../rows.js';
import type { PgDb, Q, Row } from './db.js';
import { LOCK_RETENTION } from './migrations.js';
import { insertTask } from './tasks.js';

// Codes with reservable tasks in the cluster, by a loose index scan of tasks_heads (one probe per
// code, whatever the number of tasks behind each), with what decides their slots.
const CODES_WITH_READY = `WITH RECURSIVE c AS (
    (SELECT code_id FROM tasks WHERE cluster_id = $1 AND status = 'queued' AND ready ORDER BY code_id LIMIT 1)
    UNION ALL
    SELECT (SELECT t.code_id FROM tasks t WHERE t.cluster_id = $1 AND t.status = 'queued' AND t.ready AND t.code_id > c.code_id ORDER BY t.code_id LIMIT 1)
      FROM c WHERE c.code_id IS NOT NULL)
  SELECT d.id, d.paused, d.max_concurrency FROM c JOIN codes d ON d.id = c.code_id ORDER BY d.id`;

// The best `k` tasks of each eligible code (its head first), merged best first: priority, then FIFO.
const HEADS = `SELECT h.id, h.code_id, h.priority, h.seq FROM unnest($2::text[], $3::int[]) AS e(code_id, k)
  CROSS JOIN LATERAL (SELECT id, code_id, priority, seq FROM tasks
    WHERE cluster_id = $1 AND code_id = e.code_id AND status = 'queued' AND ready AND available_at <= $4 AND NOT (id = ANY($6::text[]))
    ORDER BY priority DESC, seq LIMIT e.k) h
  ORDER BY h.priority DESC, h.seq LIMIT $5`;

/** Rounds a reserve retries when another replica took the candidates it chose. */
const RESERVE_ROUNDS = 4;

// The candidates no other transaction holds, locked and reserved in one statement (the lock re-checks
// that each is still queued and ready on its newest row).
const TAKE = `WITH l AS (SELECT id FROM tasks WHERE id = ANY($1::text[]) AND status = 'queued' AND ready ORDER BY id FOR UPDATE SKIP LOCKED)
  UPDATE tasks t SET status = 'preparing', reservation_id = u.rid, instance_id = $3, lease_expires_at = $4, attempt = t.attempt + 1, updated_at = $5
  FROM unnest($1::text[], $2::text[]) AS u(id, rid) JOIN l ON l.id = u.id WHERE t.id = u.id RETURNING t.*`;

async function slotsOfEligibleCodes(q: Q, codes: readonly Row[], n: number): Promise<Map<string, number>> {
  const slots = new Map<string, number>();
  const limited: string[] = [];
  for (const c of codes) {
    if (c['paused'] === true) continue;
    const max = c['max_concurrency'] === null ? 0 : Number(c['max_concurrency']);
    if (max > 0) limited.push(String(c['id']));
    slots.set(String(c['id']), max > 0 ? max : n);
  }
  if (limited.length > 0) {
    // Locked in id order (no deadlock between reserves); counted after the lock (READ COMMITTED
    // reads what the reserve before this one committed).
    await q.run('SELECT 1 FROM codes WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [limited]);
    const running = await q.rows("SELECT code_id, COUNT(*) AS n FROM tasks WHERE code_id = ANY($1::text[]) AND status IN ('preparing','running') GROUP BY code_id", [limited]);
    for (const r of running) {
      const id = String(r['code_id']);
      slots.set(id, (slots.get(id) ?? 0) - Number(r['n']));
    }
  }
  for (const [id, k] of slots) if (k <= 0) slots.delete(id);
  return slots;
}

export async function reserve(db: PgDb, clusterId: string, instanceId: string, n: number, now: number, leaseExpiresAt: number, signal: AbortSignal): Promise<Reservation[]> {
  if (n <= 0) return [];
  // Read before the transaction (READ COMMITTED reads each statement's own snapshot anyway): a look
  // that finds nothing costs one statement, not three.
  const codes = await db.rows(signal, CODES_WITH_READY, [clusterId]);
  if (!codes.some((c) => c['paused'] !== true)) return [];
  return db.tx(signal, async (q) => {
    const slots = await slotsOfEligibleCodes(q, codes, n);
    const taken: Row[] = [];
    // Candidates another replica holds (skipped by the lock): not offered again in a later round.
    const tried: string[] = [];
    for (let round = 0; round < RESERVE_ROUNDS && taken.length < n && slots.size > 0; round++) {
      const codes = [...slots.keys()];
      const candidates = await q.rows(HEADS, [clusterId, codes, codes.map((c) => Math.min(n, slots.get(c) ?? 0)), now, n - taken.length, tried]);
      if (candidates.length === 0) break;
      const ids = candidates.map((c) => String(c['id']));
      for (const id of ids) tried.push(id);
      const rows = await q.rows(TAKE, [ids, ids.map(() => newId(now)), instanceId, leaseExpiresAt, now]);
      for (const r of rows) {
        const code = String(r['code_id']);
        const left = (slots.get(code) ?? 0) - 1;
        if (left <= 0) slots.delete(code);
        else slots.set(code, left);
        taken.push(r);
      }
    }
    const tasks = taken.map(toTask).sort((a, b) => b.priority - a.priority || seqOf(taken, a.id) - seqOf(taken, b.id));
    if (tasks.length === 0) return [];
    const revisions = new Map(
      (await q.rows('SELECT * FROM code_revisions WHERE id = ANY($1::text[])', [[...new Set(tasks.map((t) => t.codeHistoryId))]])).map((r) => [String(r['id']), toRevision(r)]),
    );
    return tasks.map((task): Reservation => {
      const revision = revisions.get(task.codeHistoryId);
      if (revision === undefined) throw new Error(`revision ${task.codeHistoryId} of task ${task.id} is missing`);
      return { task, revision, reservationId: task.reservationId ?? '', leaseExpiresAt };
    });
  });
}

function seqOf(rows: readonly Row[], id: string): number {
  return Number(rows.find((r) => r['id'] === id)?.['seq'] ?? 0);
}

async function lockedTask(q: Q, clusterId: string, id: string): Promise<Task | undefined> {
  const r = await q.one('SELECT * FROM tasks WHERE id = $1 AND cluster_id = $2 FOR UPDATE', [id, clusterId]);
  return r === undefined ? undefined : toTask(r);
}

async function mustTask(q: Q, id: string): Promise<Task> {
  const r = await q.one('SELECT * FROM tasks WHERE id = $1', [id]);
  if (r === undefined) throw new Error(`task ${id} vanished inside its own transaction`);
  return toTask(r);
}

export function heartbeat(
  db: PgDb,
  clusterId: string,
  items: readonly { id: string; reservationId: string }[],
  leaseExpiresAt: number,
  rules: TaskRules,
  signal: AbortSignal,
): Promise<HeartbeatResult> {
  if (items.length === 0) return Promise.resolve({ cancel: [], lost: [] });
  // No transaction and no row lock (a heartbeat never waits for a finish committing): the rules judge
  // what was read, and the UPDATE extends a lease only while it is still there under the same
  // reservation. Every way out of "held" (finish, expiry, a closed cancel) clears the lease in the
  // same statement that changes the task, so a lease is never put back on a task that left it.
  return db.withClient(signal, async (q) => {
    const rows = await q.rows('SELECT * FROM tasks WHERE id = ANY($1::text[]) AND cluster_id = $2', [items.map((i) => i.id), clusterId]);
    const byId = new Map(rows.map((r) => [String(r['id']), toTask(r)]));
    const cancel: string[] = [];
    const lost: string[] = [];
    const held: { id: string; reservationId: string }[] = [];
    for (const { id, reservationId } of items) {
      const t = byId.get(id);
      if (t === undefined || t.reservationId !== reservationId || !rules.held(t)) {
        lost.push(id);
        continue;
      }
      held.push({ id, reservationId });
      if (t.cancelPending) cancel.push(id);
    }
    if (held.length > 0) {
      await q.run(
        `UPDATE tasks t SET lease_expires_at = $1 FROM unnest($2::text[], $3::text[]) AS u(id, rid)
         WHERE t.id = u.id AND t.reservation_id = u.rid AND t.lease_expires_at IS NOT NULL`,
        [leaseExpiresAt, held.map((h) => h.id), held.map((h) => h.reservationId)],
      );
    }
    return { cancel, lost };
  });
}

// The start of a task that is preparing under this reservation with no cancel pending: the case in
// which TaskRules.start says 'start'. One statement instead of four (BEGIN, the locked read, this
// update, COMMIT): the start of nearly every task. Any other case finds no row and takes the
// transaction below, where the rules decide on the locked row.
const START_PREPARING = `UPDATE tasks SET status = 'running', start_time = $1, updated_at = $1
  WHERE id = $2 AND cluster_id = $3 AND reservation_id = $4 AND status = 'preparing' AND NOT cancel_pending RETURNING *`;

export async function startTask(db: PgDb, clusterId: string, id: string, reservationId: string, now: number, rules: TaskRules, signal: AbortSignal): Promise<RunnerOutcome> {
  const started = await db.rows(signal, START_PREPARING, [now, id, clusterId, reservationId]);
  if (started[0] !== undefined) return { ok: true, task: toTask(started[0]) };
  return db.tx(signal, async (q): Promise<RunnerOutcome> => {
    const t = await lockedTask(q, clusterId, id);
    if (t === undefined) return { ok: false, reason: 'not_found' };
    const plan = rules.start(t, reservationId);
    if (plan === 'superseded' || plan === 'cancelled') return { ok: false, reason: plan };
    if (plan === 'running') return { ok: true, task: t };
    const r = await q.one("UPDATE tasks SET status = 'running', start_time = $1, updated_at = $1 WHERE id = $2 RETURNING *", [now, id]);
    return { ok: true, task: r === undefined ? t : toTask(r) };
  });
}

export function finishTask(db: PgDb, clusterId: string, id: string, f: FinishInput, now: number, rules: TaskRules, signal: AbortSignal): Promise<RunnerOutcome> {
  return db.tx(signal, async (q): Promise<RunnerOutcome> => {
    // The code's retry settings come with the locked row: a statement less per finish than reading them after the update.
    const r = await q.one(
      'SELECT t.*, c.retries AS code_retries, c.retries_delay AS code_retries_delay FROM tasks t LEFT JOIN codes c ON c.id = t.code_id WHERE t.id = $1 AND t.cluster_id = $2 FOR UPDATE OF t',
      [id, clusterId],
    );
    if (r === undefined) return { ok: false, reason: 'not_found' };
    const t = toTask(r);
    const retry: RetrySettings | undefined = r['code_retries'] === null ? undefined : { retries: Number(r['code_retries']), retriesDelay: Number(r['code_retries_delay']) };
    const plan = rules.finish(t, f, now);
    if (plan.kind === 'superseded') return { ok: false, reason: 'superseded' };
    if (plan.kind === 'repeat') return { ok: true, task: t };
    // A give-back did not run the task: its usage is not the task's. Truncation and usage are set by
    // the plan's own UPDATE ($1, $2, $3: FINISH_EXTRA), which returns the row.
    const usage = plan.kind === 'requeue' ? undefined : f.usage;
    const extra = [plan.markTruncated, usage?.peakMemory ?? null, usage?.cpuSeconds ?? null];
    const updated = async (sql: string, params: readonly (string | number | null)[]): Promise<Task> => {
      const r = await q.one(sql, [...extra, ...params]);
      if (r === undefined) throw new Error(`task ${id} vanished inside its own transaction`);
      return toTask(r);
    };
    if (plan.kind === 'close_cancel') {
      const task = await updated(
        `UPDATE tasks SET ${FINISH_EXTRA}, cancel_pending = false, lease_expires_at = NULL, exit_code = $4, duration = $5, log_size = $6, updated_at = $7 WHERE id = $8 RETURNING *`,
        [plan.exitCode, plan.duration, plan.logSize, now, id],
      );
      return { ok: true, task };
    }
    if (plan.kind === 'requeue') {
      const sql = `UPDATE tasks SET ${FINISH_EXTRA}, status = 'queued', ready = true, reservation_id = NULL, instance_id = NULL, lease_expires_at = NULL, start_time = NULL,
           available_at = $4, updated_at = $4 WHERE id = $5 RETURNING *`;
      return { ok: true, task: await updated(sql, [now, id]) };
    }
    // An empty runner msg keeps a msg the task set itself through progress.
    const sql = `UPDATE tasks SET ${FINISH_EXTRA}, status = $4, msg = COALESCE(NULLIF($5, ''), msg), exit_code = $6, duration = $7, log_size = $8, end_time = $9, lease_expires_at = NULL,
         updated_at = $9 WHERE id = $10 RETURNING *`;
    const ended = await updated(sql, [plan.status, plan.msg, plan.exitCode, plan.duration, plan.logSize, now, id]);
    return { ok: true, task: (retry === undefined ? undefined : await queueCodeRetry(q, ended, retry, now, rules)) ?? ended };
  });
}

/** A finish's truncation flag ($1) and usage ($2 peak memory, $3 CPU seconds; null keeps what is there). */
const FINISH_EXTRA = 'log_truncated = log_truncated OR $1::boolean, peak_memory = COALESCE($2::bigint, peak_memory), cpu_seconds = COALESCE($3::float8, cpu_seconds)';

/** The code retry the rules ask for (if any), queued as a new task linked to the one that ended; returns the ended task then. */
async function applyCodeRetry(q: Q, t: Task, now: number, rules: TaskRules): Promise<Task | undefined> {
  const code = await q.one('SELECT retries, retries_delay FROM codes WHERE id = $1', [t.codeId]);
  if (code === undefined) return undefined;
  return queueCodeRetry(q, t, { retries: Number(code['retries']), retriesDelay: Number(code['retries_delay']) }, now, rules);
}

async function queueCodeRetry(q: Q, t: Task, code: RetrySettings, now: number, rules: TaskRules): Promise<Task | undefined> {
  const next = rules.codeRetry(t, code);
  if (next === null) return undefined;
  const queued = await insertTask(q, next, now);
  const r = await q.one('UPDATE tasks SET retry_task_id = $1 WHERE id = $2 RETURNING *', [queued.id, t.id]);
  return r === undefined ? undefined : toTask(r);
}

export async function logTarget(db: PgDb, clusterId: string, id: string, reservationId: string, rules: TaskRules, signal: AbortSignal): Promise<RunnerOutcome> {
  const r = await db.one(signal, 'SELECT * FROM tasks WHERE id = $1 AND cluster_id = $2', [id, clusterId]);
  if (r === undefined) return { ok: false, reason: 'not_found' };
  const t = toTask(r);
  if (t.reservationId !== reservationId) return { ok: false, reason: 'superseded' };
  // A user cancel keeps the reservation until the runner reports: its last output is still taken.
  if (!rules.held(t)) return { ok: false, reason: 'finished' };
  return { ok: true, task: t };
}

export async function setLogSize(db: PgDb, id: string, size: number, signal: AbortSignal): Promise<void> {
  await db.run(signal, 'UPDATE tasks SET log_size = $1 WHERE id = $2 AND log_size < $1', [size, id]);
}

export async function markLogTruncated(db: PgDb, id: string, signal: AbortSignal): Promise<void> {
  await db.run(signal, 'UPDATE tasks SET log_truncated = true WHERE id = $1 AND NOT log_truncated', [id]);
}

/** Leases per expiry transaction; the rest are taken by the next tick (or another replica's). */
const EXPIRE_BATCH = 1000;

export function expireLeases(db: PgDb, now: number, rules: TaskRules, signal: AbortSignal): Promise<ExpiredLeases> {
  return db.tx(signal, async (q) => {
    const ready = new ReadyCounter();
    let requeued = 0;
    let lost = 0;
    const rows = await q.rows('SELECT * FROM tasks WHERE lease_expires_at IS NOT NULL AND lease_expires_at < $1 ORDER BY lease_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED', [now, EXPIRE_BATCH]);
    for (const r of rows) {
      const t = toTask(r);
      const action = rules.leaseLost(t);
      if (action === 'release_cancel') {
        await q.run('UPDATE tasks SET cancel_pending = false, lease_expires_at = NULL, updated_at = $1 WHERE id = $2', [now, t.id]);
      } else if (action === 'fail') {
        await q.run(
          `UPDATE tasks SET status = 'error', msg = 'runner lost', lost_count = lost_count + 1, lease_expires_at = NULL,
             end_time = $1, updated_at = $1 WHERE id = $2`,
          [now, t.id],
        );
        await applyCodeRetry(q, await mustTask(q, t.id), now, rules);
        lost++;
      } else {
        await q.run(
          `UPDATE tasks SET status = 'queued', ready = true, lost_count = lost_count + 1, reservation_id = NULL, instance_id = NULL,
             lease_expires_at = NULL, start_time = NULL, available_at = $1, updated_at = $1 WHERE id = $2`,
          [now, t.id],
        );
        requeued++;
        ready.add(t.clusterId);
      }
    }
    return { requeued, lost, ready: ready.list() };
  });
}

const PROMOTE_BATCH = 5000;

export async function promoteDue(db: PgDb, now: number, signal: AbortSignal): Promise<ReadyCount[]> {
  const rows = await db.rows(
    signal,
    `UPDATE tasks SET ready = true WHERE id IN (
       SELECT id FROM tasks WHERE status = 'queued' AND NOT ready AND available_at <= $1 ORDER BY available_at LIMIT $2 FOR UPDATE SKIP LOCKED)
     RETURNING cluster_id`,
    [now, PROMOTE_BATCH],
  );
  const ready = new ReadyCounter();
  for (const r of rows) ready.add(String(r['cluster_id']));
  return ready.list();
}

export async function nextDeadline(db: PgDb, now: number, signal: AbortSignal): Promise<number | null> {
  // A waiting task already due (not promoted yet) makes the deadline now.
  const r = await db.one(
    signal,
    `SELECT LEAST(
       (SELECT CASE WHEN MIN(available_at) IS NULL THEN NULL ELSE GREATEST($1::bigint, MIN(available_at)) END FROM tasks WHERE status = 'queued' AND NOT ready),
       (SELECT MIN(lease_expires_at) FROM tasks WHERE lease_expires_at IS NOT NULL),
       (SELECT MIN(next_start) FROM schedules WHERE status = 'scheduled')) AS at`,
    [now],
  );
  const at = r?.['at'];
  return at === null || at === undefined ? null : Number(at);
}

/** Finished tasks that ended before `endedBefore`, oldest first; one replica at a time (the others get []). */
export function purgeFinished(db: PgDb, endedBefore: number, limit: number, signal: AbortSignal): Promise<string[]> {
  return db.tx(signal, async (q) => {
    const lock = await q.one('SELECT pg_try_advisory_xact_lock($1) AS ok', [LOCK_RETENTION]);
    if (lock?.['ok'] !== true) return [];
    const rows = await q.rows(
      `DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE status NOT IN ('queued','preparing','running') AND NOT cancel_pending
         AND COALESCE(end_time, updated_at) < $1 ORDER BY seq LIMIT $2) RETURNING id`,
      [endedBefore, limit],
    );
    return rows.map((r) => String(r['id']));
  });
}
