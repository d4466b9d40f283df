// The runner side of tasks: reservation, leases (heartbeat, expiry), start, finish. Every function
// is one transaction, so a reservation is handed out at most once and a state change is all-or-nothing.
// Which tasks a lease still holds, what an expiry does and when a code retry follows are TaskRules
// (src/server/services/task-rules.ts): these functions apply them inside their transactions.
import { newId } from '../../ids.js';
import type { TaskRules } from '../ports.js';
import type { ExpiredLeases, FinishInput, HeartbeatResult, QueueDepthRow, ReadyCount, Reservation, RunnerOutcome, Task } from '../records.js';
import { ReadyCounter } from '../ready-counter.js';
import { getRevision } from './codes.js';
import type { Db } from './db.js';
import { toTask } from '../rows.js';
import { insertTask } from './tasks.js';

type R = Record<string, unknown>;

/** Ids per IN (...) list: one prepared statement per list length, well under SQLite's 32,766 parameters. */
const IN_BATCH = 100;

// Highest priority first, FIFO (seq) within a priority; paused codes and codes at their
// max_concurrency are skipped without blocking other codes' tasks. The cost is one index probe per
// code with reservable tasks in the cluster, whatever their number: the codes are visited by a skip
// scan of tasks_heads (the next code id after the last one), and each eligible code offers its head.
export const NEXT_CODE = `SELECT code_id FROM tasks WHERE cluster_id = ? AND code_id > ? AND status = 'queued' AND ready = 1
  ORDER BY code_id LIMIT 1`;
export const HEAD_OF_CODE = `SELECT id, priority, seq FROM tasks WHERE cluster_id = ? AND code_id = ? AND status = 'queued' AND ready = 1
  AND available_at <= ? ORDER BY priority DESC, seq LIMIT 1`;
const RUNNING_OF_CODE = "SELECT COUNT(*) AS n FROM tasks WHERE code_id = ? AND status IN ('preparing','running')";

interface Head {
  readonly codeId: string;
  id: string;
  priority: number;
  seq: number;
  running: number;
  readonly max: number;
}

function headOf(db: Db, clusterId: string, codeId: string, now: number): { id: string; priority: number; seq: number } | undefined {
  const r = db.get<R>(HEAD_OF_CODE, clusterId, codeId, now);
  return r === undefined ? undefined : { id: String(r['id']), priority: Number(r['priority']), seq: Number(r['seq']) };
}

/** One head per code that may run a task now (not paused, below its max_concurrency). */
function eligibleHeads(db: Db, clusterId: string, now: number): Head[] {
  const heads: Head[] = [];
  let last = '';
  for (;;) {
    const next = db.get<R>(NEXT_CODE, clusterId, last);
    if (next === undefined) return heads;
    last = String(next['code_id']);
    const code = db.get<R>('SELECT paused, max_concurrency FROM codes WHERE id = ?', last);
    if (code === undefined || Number(code['paused']) === 1) continue;
    const max = code['max_concurrency'] === null ? 0 : Number(code['max_concurrency']);
    const running = max > 0 ? Number(db.get<R>(RUNNING_OF_CODE, last)?.['n'] ?? 0) : 0;
    if (max > 0 && running >= max) continue;
    const head = headOf(db, clusterId, last, now);
    if (head !== undefined) heads.push({ codeId: last, ...head, running, max });
  }
}

function best(heads: readonly Head[]): Head | undefined {
  let top: Head | undefined;
  for (const h of heads) if (top === undefined || h.priority > top.priority || (h.priority === top.priority && h.seq < top.seq)) top = h;
  return top;
}

export function reserve(db: Db, clusterId: string, instanceId: string, n: number, now: number, leaseExpiresAt: number): Reservation[] {
  // Most looks of a parked reserve find nothing: one index probe answers them without taking the
  // write lock (BEGIN IMMEDIATE and COMMIT). Statements run to completion on this thread, and the
  // transaction below looks again, so a task ready after this probe is found by the next look.
  if (db.get<R>(NEXT_CODE, clusterId, '') === undefined) return [];
  return db.tx(() => {
    const out: Reservation[] = [];
    const heads = eligibleHeads(db, clusterId, now);
    for (let i = 0; i < n; i++) {
      const h = best(heads);
      if (h === undefined) break;
      const rid = newId(now);
      db.run(
        `UPDATE tasks SET status = 'preparing', reservation_id = ?, instance_id = ?, lease_expires_at = ?, attempt = attempt + 1, updated_at = ?
         WHERE id = ?`,
        rid,
        instanceId,
        leaseExpiresAt,
        now,
        h.id,
      );
      const task = mustTask(db, h.id);
      const revision = getRevision(db, task.codeHistoryId);
      if (revision === undefined) throw new Error(`revision ${task.codeHistoryId} of task ${task.id} is missing`);
      out.push({ task, revision, reservationId: rid, leaseExpiresAt });
      h.running++;
      const next = h.max > 0 && h.running >= h.max ? undefined : headOf(db, clusterId, h.codeId, now);
      if (next === undefined) heads.splice(heads.indexOf(h), 1);
      else Object.assign(h, next);
    }
    return out;
  });
}

function mustTask(db: Db, id: string): Task {
  const r = db.get<R>('SELECT * FROM tasks WHERE id = ?', id);
  if (r === undefined) throw new Error(`task ${id} vanished inside its own transaction`);
  return toTask(r);
}

function clusterTask(db: Db, clusterId: string, id: string): Task | undefined {
  const r = db.get<R>('SELECT * FROM tasks WHERE id = ? AND cluster_id = ?', id, clusterId);
  return r === undefined ? undefined : toTask(r);
}

/**
 * One statement reads the listed tasks and one extends the leases still held: a runner's heartbeat
 * costs the same few statements for 1 task or 1,000, and an idle runner's (no tasks) none at all.
 */
export function heartbeat(db: Db, clusterId: string, items: readonly { id: string; reservationId: string }[], leaseExpiresAt: number, rules: TaskRules): HeartbeatResult {
  if (items.length === 0) return { cancel: [], lost: [] };
  return db.tx(() => {
    const cancel: string[] = [];
    const lost: string[] = [];
    const held: string[] = [];
    const rows = new Map<string, Task>();
    for (let i = 0; i < items.length; i += IN_BATCH) {
      const ids = items.slice(i, i + IN_BATCH).map((t) => t.id);
      // By id alone: with `cluster_id = ?` beside the IN list the planner walks the cluster's tasks
      // (tasks_ready) instead of probing the ids; the cluster is checked here.
      const sql = `SELECT * FROM tasks WHERE id IN (${ids.map(() => '?').join(',')})`;
      for (const r of db.all<R>(sql, ...ids)) {
        const t = toTask(r);
        if (t.clusterId === clusterId) rows.set(t.id, t);
      }
    }
    for (const { id, reservationId } of items) {
      const t = rows.get(id);
      if (t === undefined || t.reservationId !== reservationId || !rules.held(t)) {
        lost.push(id);
        continue;
      }
      held.push(id);
      if (t.cancelPending) cancel.push(id);
    }
    for (let i = 0; i < held.length; i += IN_BATCH) {
      const ids = held.slice(i, i + IN_BATCH);
      db.run(`UPDATE tasks SET lease_expires_at = ? WHERE id IN (${ids.map(() => '?').join(',')})`, leaseExpiresAt, ...ids);
    }
    return { cancel, lost };
  });
}

// The start of a task that is preparing under this reservation with no cancel pending, the case in
// which TaskRules.start says 'start': one statement (its own transaction) instead of a transaction
// with two reads. Any other case finds no row and takes the transaction below, where the rules decide.
const START_PREPARING = `UPDATE tasks SET status = 'running', start_time = ?, updated_at = ?
  WHERE id = ? AND cluster_id = ? AND reservation_id = ? AND status = 'preparing' AND cancel_pending = 0 RETURNING *`;

export function startTask(db: Db, clusterId: string, id: string, reservationId: string, now: number, rules: TaskRules): RunnerOutcome {
  const started = db.get<R>(START_PREPARING, now, now, id, clusterId, reservationId);
  if (started !== undefined) return { ok: true, task: toTask(started) };
  return db.tx((): RunnerOutcome => {
    const t = clusterTask(db, clusterId, id);
    if (t === undefined) return { ok: false, reason: 'not_found' };
    const plan = rules.start(t, reservationId);
    if (plan === 'superseded' || plan === 'cancelled') return { ok: false, reason: plan };
    if (plan === 'running') return { ok: true, task: t };
    db.run("UPDATE tasks SET status = 'running', start_time = ?, updated_at = ? WHERE id = ?", now, now, id);
    return { ok: true, task: mustTask(db, id) };
  });
}

export function finishTask(db: Db, clusterId: string, id: string, f: FinishInput, now: number, rules: TaskRules): RunnerOutcome {
  return db.tx((): RunnerOutcome => {
    const t = clusterTask(db, clusterId, id);
    if (t === undefined) return { ok: false, reason: 'not_found' };
    const plan = rules.finish(t, f, now);
    if (plan.kind === 'superseded') return { ok: false, reason: 'superseded' };
    if (plan.kind === 'repeat') return { ok: true, task: t };
    if (plan.markTruncated) db.run('UPDATE tasks SET log_truncated = 1 WHERE id = ?', id);
    // A give-back did not run the task: its usage is not the task's.
    if (f.usage !== undefined && plan.kind !== 'requeue') db.run('UPDATE tasks SET peak_memory = ?, cpu_seconds = ? WHERE id = ?', f.usage.peakMemory, f.usage.cpuSeconds, id);
    if (plan.kind === 'close_cancel') {
      db.run(
        'UPDATE tasks SET cancel_pending = 0, lease_expires_at = NULL, exit_code = ?, duration = ?, log_size = ?, updated_at = ? WHERE id = ?',
        plan.exitCode,
        plan.duration,
        plan.logSize,
        now,
        id,
      );
      return { ok: true, task: mustTask(db, id) };
    }
    if (plan.kind === 'requeue') {
      db.run(
        `UPDATE tasks SET status = 'queued', ready = 1, reservation_id = NULL, instance_id = NULL, lease_expires_at = NULL, start_time = NULL,
           available_at = ?, updated_at = ? WHERE id = ?`,
        now,
        now,
        id,
      );
      return { ok: true, task: mustTask(db, id) };
    }
    db.run(
      // An empty runner msg keeps a msg the task set itself through progress.
      `UPDATE tasks SET status = ?, msg = COALESCE(NULLIF(?, ''), msg), exit_code = ?, duration = ?, log_size = ?, end_time = ?, lease_expires_at = NULL,
         updated_at = ? WHERE id = ?`,
      plan.status,
      plan.msg,
      plan.exitCode,
      plan.duration,
      plan.logSize,
      now,
      now,
      id,
    );
    applyCodeRetry(db, mustTask(db, id), now, rules);
    return { ok: true, task: mustTask(db, id) };
  });
}

/** The code retry the rules ask for (if any), queued as a new task linked to the one that ended. */
function applyCodeRetry(db: Db, t: Task, now: number, rules: TaskRules): void {
  const code = db.get<R>('SELECT retries, retries_delay FROM codes WHERE id = ?', t.codeId);
  if (code === undefined) return;
  const next = rules.codeRetry(t, { retries: Number(code['retries']), retriesDelay: Number(code['retries_delay']) });
  if (next === null) return;
  const queued = insertTask(db, next, now);
  db.run('UPDATE tasks SET retry_task_id = ? WHERE id = ?', queued.id, t.id);
}

export function markLogTruncated(db: Db, id: string): void {
  db.run('UPDATE tasks SET log_truncated = 1 WHERE id = ? AND log_truncated = 0', id);
}

export function logTarget(db: Db, clusterId: string, id: string, reservationId: string, rules: TaskRules): RunnerOutcome {
  const t = clusterTask(db, clusterId, id);
  if (t === undefined) return { ok: false, reason: 'not_found' };
  if (t.reservationId !== reservationId) return { ok: false, reason: 'superseded' };
  // A user cancel keeps the reservation until the runner reports: its last output is still taken.
  if (!rules.held(t)) return { ok: false, reason: 'finished' };
  return { ok: true, task: t };
}

export function setLogSize(db: Db, id: string, size: number): void {
  db.run('UPDATE tasks SET log_size = ? WHERE id = ? AND log_size < ?', size, id, size);
}

export function expireLeases(db: Db, now: number, rules: TaskRules): ExpiredLeases {
  return db.tx(() => {
    const ready = new ReadyCounter();
    let requeued = 0;
    let lost = 0;
    for (const r of db.all<R>('SELECT * FROM tasks WHERE lease_expires_at IS NOT NULL AND lease_expires_at < ?', now)) {
      const t = toTask(r);
      const action = rules.leaseLost(t);
      if (action === 'release_cancel') {
        db.run('UPDATE tasks SET cancel_pending = 0, lease_expires_at = NULL, updated_at = ? WHERE id = ?', now, t.id);
      } else if (action === 'fail') {
        db.run(
          `UPDATE tasks SET status = 'error', msg = 'runner lost', lost_count = lost_count + 1, lease_expires_at = NULL,
             end_time = ?, updated_at = ? WHERE id = ?`,
          now,
          now,
          t.id,
        );
        applyCodeRetry(db, mustTask(db, t.id), now, rules);
        lost++;
      } else {
        db.run(
          `UPDATE tasks SET status = 'queued', ready = 1, lost_count = lost_count + 1, reservation_id = NULL, instance_id = NULL,
             lease_expires_at = NULL, start_time = NULL, available_at = ?, updated_at = ? WHERE id = ?`,
          now,
          now,
          t.id,
        );
        requeued++;
        ready.add(t.clusterId);
      }
    }
    return { requeued, lost, ready: ready.list() };
  });
}

export function promoteDue(db: Db, now: number): ReadyCount[] {
  return db.tx(() => {
    const ready = new ReadyCounter();
    for (const r of db.all<R>("SELECT id, cluster_id FROM tasks WHERE status = 'queued' AND ready = 0 AND available_at <= ?", now)) {
      db.run('UPDATE tasks SET ready = 1 WHERE id = ?', String(r['id']));
      ready.add(String(r['cluster_id']));
    }
    return ready.list();
  });
}

/** Skip scan of tasks_ready_by_code: one probe per cluster; counts stop at 1000 (enough wake-ups). */
export function readyClustersOf(db: Db, codeId: string): ReadyCount[] {
  const out: ReadyCount[] = [];
  let last = '';
  for (;;) {
    const r = db.get<R>("SELECT cluster_id FROM tasks WHERE code_id = ? AND cluster_id > ? AND status = 'queued' AND ready = 1 ORDER BY cluster_id LIMIT 1", codeId, last);
    if (r === undefined) return out;
    last = String(r['cluster_id']);
    const n = db.get<R>("SELECT COUNT(*) AS n FROM (SELECT 1 FROM tasks WHERE code_id = ? AND cluster_id = ? AND status = 'queued' AND ready = 1 LIMIT 1000)", codeId, last);
    out.push({ clusterId: last, count: Number(n?.['n'] ?? 1) });
  }
}

export function nextDeadline(db: Db, now: number): number | null {
  // A waiting task already due (not promoted yet) makes the deadline now.
  const r = db.get<R>(
    `SELECT MIN(x) AS at FROM (
       SELECT MAX(?, MIN(available_at)) AS x FROM tasks WHERE status = 'queued' AND ready = 0
       UNION ALL SELECT MIN(lease_expires_at) FROM tasks WHERE lease_expires_at IS NOT NULL
       UNION ALL SELECT MIN(next_start) FROM schedules WHERE status = 'scheduled')`,
    now,
  );
  const at = r?.['at'];
  return at === null || at === undefined ? null : Number(at);
}

export function queueDepth(db: Db, _now: number): QueueDepthRow[] {
  return db
    .all<R>("SELECT cluster_id, priority, COUNT(*) AS n FROM tasks WHERE status = 'queued' AND ready = 1 GROUP BY cluster_id, priority")
    .map((r) => ({ clusterId: String(r['cluster_id']), priority: Number(r['priority']), count: Number(r['n']) }));
}

/** Finished tasks that ended before `endedBefore`, oldest first, at most `limit`; returns their ids. */
export function purgeFinished(db: Db, endedBefore: number, limit: number): string[] {
  return db.tx(() =>
    db
      .all<R>(
        `DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE status NOT IN ('queued','preparing','running') AND cancel_pending = 0
           AND COALESCE(end_time, updated_at) < ? ORDER BY seq LIMIT ?) RETURNING id`,
        endedBefore,
        limit,
      )
      .map((r) => String(r['id'])),
  );
}
