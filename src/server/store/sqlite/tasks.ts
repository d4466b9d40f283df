// The user side of tasks: queue, read, list, cancel, retry, progress.
import { newId } from '../../ids.js';
import type { NewTask, Task, TaskFilter } from '../records.js';
import type { Db } from './db.js';
import { toTask } from '../rows.js';

type R = Record<string, unknown>;

/** Inserts one queued task pinned to its code's current revision; callers hold the transaction. */
export function insertTask(db: Db, t: NewTask, now: number): Task {
  const code = db.get<R>('SELECT name, history_id, rev FROM codes WHERE id = ?', t.codeId);
  if (code === undefined) throw new Error(`code ${t.codeId} does not exist`);
  const id = newId(now);
  db.run(
    `INSERT INTO tasks (id, project_id, code_id, code_name, code_history_id, code_rev, cluster_id, status, priority, timeout,
       delay, payload, label, created_at, updated_at, available_at, schedule_id, retry_of, retry_count, ready)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    id,
    t.projectId,
    t.codeId,
    String(code['name']),
    String(code['history_id']),
    Number(code['rev']),
    t.clusterId,
    t.priority,
    t.timeout,
    t.delay,
    t.payload,
    t.label,
    now,
    now,
    now + t.delay * 1000,
    t.scheduleId ?? null,
    t.retryOf ?? null,
    t.retryCount ?? 0,
    t.delay > 0 ? 0 : 1,
  );
  const row = db.get<R>('SELECT * FROM tasks WHERE id = ?', id);
  if (row === undefined) throw new Error('task vanished inside its own transaction');
  return toTask(row);
}

export function queueTasks(db: Db, tasks: readonly NewTask[], now: number): Task[] {
  return db.tx(() => tasks.map((t) => insertTask(db, t, now)));
}

export function getTask(db: Db, projectId: string, id: string): Task | undefined {
  const r = db.get<R>('SELECT * FROM tasks WHERE id = ? AND project_id = ?', id, projectId);
  return r === undefined ? undefined : toTask(r);
}

export function listTasks(db: Db, f: TaskFilter): Task[] {
  const where = ['project_id = ?'];
  const params: (string | number)[] = [f.projectId];
  if (f.codeName !== undefined) {
    where.push('code_name = ?');
    params.push(f.codeName);
  }
  if (f.clusterId !== undefined) {
    where.push('cluster_id = ?');
    params.push(f.clusterId);
  }
  if (f.label !== undefined) {
    where.push('label = ?');
    params.push(f.label);
  }
  if (f.fromTime !== undefined) {
    where.push('created_at >= ?');
    params.push(f.fromTime);
  }
  if (f.toTime !== undefined) {
    where.push('created_at <= ?');
    params.push(f.toTime);
  }
  if (f.statuses !== undefined && f.statuses.length > 0) {
    where.push(`status IN (${f.statuses.map(() => '?').join(',')})`);
    params.push(...f.statuses);
  }
  params.push(f.perPage, f.page * f.perPage);
  // Newest first, as Iron's HUD and clients show them.
  return db.all<R>(`SELECT * FROM tasks WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ? OFFSET ?`, ...params).map(toTask);
}

/** Queued: cancelled at once. Reserved: cancelled now, the runner learns it on its next heartbeat. */
export function cancelTask(db: Db, projectId: string, id: string, now: number): Task | undefined {
  return db.tx(() => {
    const t = getTask(db, projectId, id);
    if (t === undefined) return undefined;
    cancelRow(db, t, now);
    return getTask(db, projectId, id);
  });
}

function cancelRow(db: Db, t: Task, now: number): void {
  if (t.status === 'queued') {
    db.run("UPDATE tasks SET status = 'cancelled', end_time = ?, updated_at = ?, msg = 'cancelled by user' WHERE id = ?", now, now, t.id);
  } else if (t.status === 'preparing' || t.status === 'running') {
    db.run("UPDATE tasks SET status = 'cancelled', cancel_pending = 1, end_time = ?, updated_at = ?, msg = 'cancelled by user' WHERE id = ?", now, now, t.id);
  }
}

export function cancelAll(db: Db, projectId: string, codeId: string, now: number): number {
  return db.tx(() => {
    const rows = db.all<R>("SELECT * FROM tasks WHERE project_id = ? AND code_id = ? AND status IN ('queued','preparing','running')", projectId, codeId);
    for (const r of rows) cancelRow(db, toTask(r), now);
    return rows.length;
  });
}

/** A retry is a new task (new id); the task it retries links to it. */
export function queueRetry(db: Db, of: string, next: NewTask, now: number): Task {
  return db.tx(() => {
    const t = insertTask(db, next, now);
    db.run('UPDATE tasks SET retry_task_id = ?, updated_at = ? WHERE id = ?', t.id, now, of);
    return t;
  });
}

export function setProgress(db: Db, projectId: string, id: string, percent: number | null, msg: string | null, now: number): boolean {
  return db.run('UPDATE tasks SET percent = COALESCE(?, percent), msg = COALESCE(?, msg), updated_at = ? WHERE id = ? AND project_id = ?', percent, msg, now, id, projectId) > 0;
}
