// The runner side of tasks: reservation, leases (heartbeat, expiry), start, finish. Every function
// is one transaction, so a reservation is handed out at most once and a state change is all-or-nothing.
import { newId } from '../../ids.js';
import type { FinishInput, HeartbeatResult, QueueDepthRow, ReservedTask, RunnerOutcome, Task } from '../types.js';
import { getRevision } from './codes.js';
import type { Db } from './db.js';
import { toTask } from './rows.js';
import { insertTask } from './tasks.js';

type R = Record<string, unknown>;

// Highest priority first, FIFO (seq) within a priority; paused codes and codes at their
// max_concurrency are skipped without blocking other codes' tasks.
const NEXT_READY = `SELECT t.* FROM tasks t JOIN codes c ON c.id = t.code_id
  WHERE t.cluster_id = ? AND t.status = 'queued' AND t.available_at <= ? AND c.paused = 0
    AND (c.max_concurrency IS NULL OR c.max_concurrency <= 0
         OR (SELECT COUNT(*) FROM tasks r WHERE r.code_id = t.code_id AND r.status IN ('preparing','running')) < c.max_concurrency)
  ORDER BY t.priority DESC, t.seq LIMIT 1`;

export function reserve(db: Db, clusterId: string, instanceId: string, n: number, now: number, leaseMs: number): ReservedTask[] {
  return db.tx(() => {
    const out: ReservedTask[] = [];
    for (let i = 0; i < n; i++) {
      const row = db.get<R>(NEXT_READY, clusterId, now);
      if (row === undefined) break;
      const rid = newId(now);
      db.run(
        `UPDATE tasks SET status = 'preparing', reservation_id = ?, instance_id = ?, lease_expires_at = ?, attempt = attempt + 1, updated_at = ?
         WHERE id = ?`,
        rid, instanceId, now + leaseMs, now, String(row['id']),
      );
      const task = mustTask(db, String(row['id']));
      const revision = getRevision(db, task.codeHistoryId);
      if (revision === undefined) throw new Error(`revision ${task.codeHistoryId} of task ${task.id} is missing`);
      out.push({ task, revision });
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

const held = (t: Task): boolean => t.status === 'preparing' || t.status === 'running' || t.cancelPending;

export function heartbeat(
  db: Db, clusterId: string, _instanceId: string, items: readonly { id: string; reservationId: string }[], now: number, leaseMs: number,
): HeartbeatResult {
  return db.tx(() => {
    const cancel: string[] = [];
    const lost: string[] = [];
    for (const { id, reservationId } of items) {
      const t = clusterTask(db, clusterId, id);
      if (t === undefined || t.reservationId !== reservationId || !held(t)) {
        lost.push(id);
        continue;
      }
      db.run('UPDATE tasks SET lease_expires_at = ? WHERE id = ?', now + leaseMs, id);
      if (t.cancelPending) cancel.push(id);
    }
    return { cancel, lost };
  });
}

export function startTask(db: Db, clusterId: string, id: string, reservationId: string, now: number): RunnerOutcome {
  return db.tx((): RunnerOutcome => {
    const t = clusterTask(db, clusterId, id);
    if (t === undefined) return { ok: false, reason: 'not_found' };
    if (t.reservationId !== reservationId) return { ok: false, reason: 'superseded' };
    if (t.cancelPending) return { ok: false, reason: 'cancelled' };
    if (t.status === 'running') return { ok: true, task: t };
    if (t.status !== 'preparing') return { ok: false, reason: 'superseded' };
    db.run("UPDATE tasks SET status = 'running', start_time = ?, updated_at = ? WHERE id = ?", now, now, id);
    return { ok: true, task: mustTask(db, id) };
  });
}

export function finishTask(db: Db, clusterId: string, id: string, f: FinishInput, now: number): RunnerOutcome {
  return db.tx((): RunnerOutcome => {
    const t = clusterTask(db, clusterId, id);
    if (t === undefined) return { ok: false, reason: 'not_found' };
    if (t.reservationId !== f.reservationId) return { ok: false, reason: 'superseded' };
    const logSize = Math.max(t.logSize, f.logSize ?? 0);
    if (t.cancelPending) {
      // The user's cancel already decided the status; record how the container ended.
      db.run(
        'UPDATE tasks SET cancel_pending = 0, lease_expires_at = NULL, exit_code = ?, duration = ?, log_size = ?, updated_at = ? WHERE id = ?',
        f.exitCode, f.durationMs, logSize, now, id,
      );
      return { ok: true, task: mustTask(db, id) };
    }
    if (t.status !== 'preparing' && t.status !== 'running') return { ok: true, task: t }; // repeated finish
    if (f.status === 'requeue') {
      db.run(
        `UPDATE tasks SET status = 'queued', reservation_id = NULL, instance_id = NULL, lease_expires_at = NULL, start_time = NULL,
           available_at = ?, updated_at = ? WHERE id = ?`,
        now, now, id,
      );
      return { ok: true, task: mustTask(db, id) };
    }
    // A task finished before its start (payload refused, image pull failed) never ran: it keeps
    // start_time and duration null, so nobody reads a run into a task that had none.
    const duration = t.startTime === null ? null : f.durationMs ?? now - t.startTime;
    db.run(
      // An empty runner msg keeps a msg the task set itself through progress.
      `UPDATE tasks SET status = ?, msg = COALESCE(NULLIF(?, ''), msg), exit_code = ?, duration = ?, log_size = ?, end_time = ?, lease_expires_at = NULL,
         updated_at = ? WHERE id = ?`,
      f.status, f.msg, f.exitCode, duration, logSize, now, now, id,
    );
    applyCodeRetry(db, mustTask(db, id), now);
    return { ok: true, task: mustTask(db, id) };
  });
}

/** IronWorker's per-code `retries`: a failed task is queued again as a new, linked task. */
function applyCodeRetry(db: Db, t: Task, now: number): void {
  if (t.status !== 'error' && t.status !== 'timeout') return;
  const code = db.get<R>('SELECT retries, retries_delay FROM codes WHERE id = ?', t.codeId);
  if (code === undefined || t.retryCount >= Number(code['retries'])) return;
  const next = insertTask(db, {
    projectId: t.projectId, codeId: t.codeId, clusterId: t.clusterId, priority: t.priority, timeout: t.timeout,
    delay: Number(code['retries_delay']), payload: t.payload, label: t.label, scheduleId: t.scheduleId,
    retryOf: t.id, retryCount: t.retryCount + 1,
  }, now);
  db.run('UPDATE tasks SET retry_task_id = ? WHERE id = ?', next.id, t.id);
}

export function logTarget(db: Db, clusterId: string, id: string, reservationId: string | null): RunnerOutcome {
  const t = clusterTask(db, clusterId, id);
  if (t === undefined) return { ok: false, reason: 'not_found' };
  if (t.reservationId === null || (reservationId !== null && t.reservationId !== reservationId)) return { ok: false, reason: 'superseded' };
  return { ok: true, task: t };
}

export function setLogSize(db: Db, id: string, size: number): void {
  db.run('UPDATE tasks SET log_size = ? WHERE id = ? AND log_size < ?', size, id, size);
}

export function expireLeases(db: Db, now: number, maxAttempts: number): { requeued: number; lost: number } {
  return db.tx(() => {
    let requeued = 0;
    let lost = 0;
    for (const r of db.all<R>('SELECT * FROM tasks WHERE lease_expires_at IS NOT NULL AND lease_expires_at < ?', now)) {
      const t = toTask(r);
      if (t.cancelPending) {
        db.run('UPDATE tasks SET cancel_pending = 0, lease_expires_at = NULL, updated_at = ? WHERE id = ?', now, t.id);
      } else if (t.lostCount + 1 >= maxAttempts) {
        db.run(
          `UPDATE tasks SET status = 'error', msg = 'runner lost', lost_count = lost_count + 1, lease_expires_at = NULL,
             end_time = ?, updated_at = ? WHERE id = ?`,
          now, now, t.id,
        );
        applyCodeRetry(db, mustTask(db, t.id), now);
        lost++;
      } else {
        db.run(
          `UPDATE tasks SET status = 'queued', lost_count = lost_count + 1, reservation_id = NULL, instance_id = NULL,
             lease_expires_at = NULL, start_time = NULL, available_at = ?, updated_at = ? WHERE id = ?`,
          now, now, t.id,
        );
        requeued++;
      }
    }
    return { requeued, lost };
  });
}

export function nextDeadline(db: Db, now: number): number | null {
  const r = db.get<R>(
    `SELECT MIN(x) AS at FROM (
       SELECT MIN(available_at) AS x FROM tasks WHERE status = 'queued' AND available_at > ?
       UNION ALL SELECT MIN(lease_expires_at) FROM tasks WHERE lease_expires_at IS NOT NULL
       UNION ALL SELECT MIN(next_start) FROM schedules WHERE status = 'scheduled')`,
    now,
  );
  const at = r?.['at'];
  return at === null || at === undefined ? null : Number(at);
}

export function queueDepth(db: Db, now: number): QueueDepthRow[] {
  return db
    .all<R>("SELECT cluster_id, priority, COUNT(*) AS n FROM tasks WHERE status = 'queued' AND available_at <= ? GROUP BY cluster_id, priority", now)
    .map((r) => ({ clusterId: String(r['cluster_id']), priority: Number(r['priority']), count: Number(r['n']) }));
}
