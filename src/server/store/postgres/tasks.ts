// The user side of tasks in PostgreSQL: queue, read, list, cancel, retry, progress (the rules of
// sqlite/tasks.ts). Cancels lock the rows they change, so a cancel and a runner's finish of the same
// task on two replicas apply one after the other, never half of each.
import { newId } from '../../ids.js';
import type { TaskStore } from '../ports.js';
import type { NewTask, Task } from '../records.js';
import { toTask } from '../rows.js';
import type { PgDb, Q } from './db.js';
import { queueDepth, readyClustersOf } from './queue-reads.js';
import { taskCounts } from './accounts.js';

/** Tasks per INSERT of a queue call. */
const INSERT_BATCH = 500;

/** Inserts one queued task pinned to its code's current revision; callers hold the transaction. */
export async function insertTask(q: Q, t: NewTask, now: number): Promise<Task> {
  const id = newId(now);
  const row = await q.one(
    `INSERT INTO tasks (id, project_id, code_id, code_name, code_history_id, code_rev, cluster_id, status, priority, timeout,
       delay, payload, label, created_at, updated_at, available_at, schedule_id, retry_of, retry_count, ready)
     SELECT $1::text, $2::text, c.id, c.name, c.history_id, c.rev, $4::text, 'queued', $5::integer, $6::integer, $7::integer, $8::text, $9::text,
       $10::bigint, $10::bigint, $11::bigint, $12::text, $13::text, $14::integer, $15::boolean
       FROM codes c WHERE c.id = $3::text
     RETURNING *`,
    [id, t.projectId, t.codeId, t.clusterId, t.priority, t.timeout, t.delay, t.payload, t.label, now, now + t.delay * 1000, t.scheduleId ?? null, t.retryOf ?? null, t.retryCount ?? 0, t.delay <= 0],
  );
  if (row === undefined) throw new Error(`code ${t.codeId} does not exist`);
  return toTask(row);
}

/**
 * Inserts a batch of queued tasks in one statement (a queue call of 1,000 tasks was 1,000 round
 * trips); callers hold the transaction. Returns them in the order given.
 */
export async function insertTasks(q: Q, list: readonly NewTask[], now: number): Promise<Task[]> {
  if (list.length === 1) return [await insertTask(q, list[0] as NewTask, now)];
  const ids = list.map(() => newId(now));
  const rows = await q.rows(
    `INSERT INTO tasks (id, project_id, code_id, code_name, code_history_id, code_rev, cluster_id, status, priority, timeout,
       delay, payload, label, created_at, updated_at, available_at, schedule_id, retry_of, retry_count, ready)
     SELECT u.id, u.project_id, c.id, c.name, c.history_id, c.rev, u.cluster_id, 'queued', u.priority, u.timeout, u.delay, u.payload, u.label,
       $14::bigint, $14::bigint, u.available_at, u.schedule_id, u.retry_of, u.retry_count, u.ready
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::integer[], $7::integer[], $8::text[], $9::text[], $10::bigint[],
         $11::text[], $12::text[], $13::integer[], $15::boolean[]) WITH ORDINALITY
         AS u(id, project_id, code_id, cluster_id, priority, timeout, delay, payload, label, available_at, schedule_id, retry_of, retry_count, ready, n)
       JOIN codes c ON c.id = u.code_id
       ORDER BY u.n
     RETURNING *`,
    [
      ids,
      list.map((t) => t.projectId),
      list.map((t) => t.codeId),
      list.map((t) => t.clusterId),
      list.map((t) => t.priority),
      list.map((t) => t.timeout),
      list.map((t) => t.delay),
      list.map((t) => t.payload),
      list.map((t) => t.label),
      list.map((t) => now + t.delay * 1000),
      list.map((t) => t.scheduleId ?? null),
      list.map((t) => t.retryOf ?? null),
      list.map((t) => t.retryCount ?? 0),
      now,
      list.map((t) => t.delay <= 0),
    ],
  );
  const byId = new Map(rows.map((r) => [String(r['id']), toTask(r)]));
  return ids.map((id, i) => {
    const t = byId.get(id);
    if (t === undefined) throw new Error(`code ${list[i]?.codeId ?? ''} does not exist`);
    return t;
  });
}

async function cancelRow(q: Q, t: Task, now: number): Promise<void> {
  if (t.status === 'queued') {
    await q.run("UPDATE tasks SET status = 'cancelled', end_time = $1, updated_at = $1, msg = 'cancelled by user' WHERE id = $2", [now, t.id]);
  } else if (t.status === 'preparing' || t.status === 'running') {
    await q.run("UPDATE tasks SET status = 'cancelled', cancel_pending = true, end_time = $1, updated_at = $1, msg = 'cancelled by user' WHERE id = $2", [now, t.id]);
  }
}

async function getTask(q: Q, projectId: string, id: string, lock = false): Promise<Task | undefined> {
  const r = await q.one(`SELECT * FROM tasks WHERE id = $1 AND project_id = $2${lock ? ' FOR UPDATE' : ''}`, [id, projectId]);
  return r === undefined ? undefined : toTask(r);
}

export function taskStore(db: PgDb): TaskStore {
  return {
    queueTasks: (list, now, signal) =>
      db.tx(signal, async (q) => {
        const out: Task[] = [];
        for (let i = 0; i < list.length; i += INSERT_BATCH) out.push(...(await insertTasks(q, list.slice(i, i + INSERT_BATCH), now)));
        return out;
      }),
    queueRetry: (of, next, now, signal) =>
      db.tx(signal, async (q) => {
        const t = await insertTask(q, next, now);
        await q.run('UPDATE tasks SET retry_task_id = $1, updated_at = $2 WHERE id = $3', [t.id, now, of]);
        return t;
      }),
    getTask: (projectId, id, signal) => db.withClient(signal, (q) => getTask(q, projectId, id)),
    listTasks: async (f, signal) => {
      const params: (string | number | readonly string[])[] = [f.projectId];
      const where = ['project_id = $1'];
      const add = (col: string, op: string, v: string | number): void => {
        params.push(v);
        where.push(`${col} ${op} $${params.length}`);
      };
      if (f.codeName !== undefined) add('code_name', '=', f.codeName);
      if (f.clusterId !== undefined) add('cluster_id', '=', f.clusterId);
      if (f.label !== undefined) add('label', '=', f.label);
      if (f.fromTime !== undefined) add('created_at', '>=', f.fromTime);
      if (f.toTime !== undefined) add('created_at', '<=', f.toTime);
      if (f.statuses !== undefined && f.statuses.length > 0) {
        params.push([...f.statuses]);
        where.push(`status = ANY($${params.length}::text[])`);
      }
      params.push(f.perPage, f.page * f.perPage);
      // Newest first by queue time, as Iron's HUD and clients show them (and as SQLite orders them).
      const sql = `SELECT * FROM tasks WHERE ${where.join(' AND ')} ORDER BY created_at DESC, seq DESC LIMIT $${params.length - 1} OFFSET $${params.length}`;
      return (await db.rows(signal, sql, params)).map(toTask);
    },
    cancelTask: (projectId, id, now, signal) =>
      db.tx(signal, async (q) => {
        const t = await getTask(q, projectId, id, true);
        if (t === undefined) return undefined;
        await cancelRow(q, t, now);
        return getTask(q, projectId, id);
      }),
    cancelAll: (projectId, codeId, now, signal) =>
      db.tx(signal, async (q) => {
        const rows = await q.rows("SELECT * FROM tasks WHERE project_id = $1 AND code_id = $2 AND status IN ('queued','preparing','running') ORDER BY seq FOR UPDATE", [projectId, codeId]);
        for (const r of rows) await cancelRow(q, toTask(r), now);
        return rows.length;
      }),
    setProgress: async (projectId, id, percent, msg, now, signal) =>
      (await db.run(signal, 'UPDATE tasks SET percent = COALESCE($1, percent), msg = COALESCE($2, msg), updated_at = $3 WHERE id = $4 AND project_id = $5', [percent, msg, now, id, projectId])) > 0,
    taskCounts: (f, signal) => taskCounts(db, f, signal),
    readyClustersOf: (codeId, signal) => readyClustersOf(db, codeId, signal),
    queueDepth: (now, signal) => queueDepth(db, now, signal),
  };
}
