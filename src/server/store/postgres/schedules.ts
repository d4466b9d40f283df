// Schedules in PostgreSQL, and the scheduler's step that every replica runs: due schedules are taken
// with FOR UPDATE SKIP LOCKED, so two replicas ticking at once split them and each run is queued once
// (a schedule another replica just advanced is re-checked against its newest next_start by the lock).
import { newId } from '../../ids.js';
import type { ScheduleStore } from '../ports.js';
import { ReadyCounter } from '../ready-counter.js';
import type { Schedule } from '../records.js';
import { toSchedule } from '../rows.js';
import { afterRun, afterUpdate, scheduledTask, skippedRun } from '../schedule-runs.js';
import { assignments, placeholders, SCHEDULE_COLUMNS, scheduleValues } from '../columns.js';
import type { PgDb, Q } from './db.js';
import { insertTask } from './tasks.js';

/** Schedules with Iron's error_count: how many of their tasks ended error or timeout. */
const SELECT_SCHEDULES = `SELECT s.*, (SELECT COUNT(*) FROM tasks t WHERE t.schedule_id = s.id AND t.status IN ('error','timeout')) AS error_count
  FROM schedules s`;

/** Due schedules per transaction; more are left to the next tick. */
const DUE_BATCH = 200;

async function getSchedule(q: Q, projectId: string, id: string): Promise<Schedule | undefined> {
  const r = await q.one(`${SELECT_SCHEDULES} WHERE s.id = $1 AND s.project_id = $2`, [id, projectId]);
  return r === undefined ? undefined : toSchedule(r);
}

export function scheduleStore(db: PgDb): ScheduleStore {
  return {
    createSchedules: (list, now, signal) =>
      db.tx(signal, async (q) => {
        const out: Schedule[] = [];
        for (const s of list) {
          const id = newId(now);
          const cols = SCHEDULE_COLUMNS.length;
          await q.run(
            `INSERT INTO schedules (id, project_id, ${SCHEDULE_COLUMNS.join(', ')}, next_start, status, created_at, updated_at)
             VALUES ($1, $2, ${placeholders(cols, 3)}, $${cols + 3}, 'scheduled', $${cols + 4}, $${cols + 4})`,
            [id, s.projectId, ...scheduleValues(s), s.startAt, now],
          );
          const r = await getSchedule(q, s.projectId, id);
          if (r === undefined) throw new Error('schedule vanished inside its own transaction');
          out.push(r);
        }
        return out;
      }),
    getSchedule: (projectId, id, signal) => db.withClient(signal, (q) => getSchedule(q, projectId, id)),
    listSchedules: async (projectId, page, signal) =>
      (await db.rows(signal, `${SELECT_SCHEDULES} WHERE s.project_id = $1 ORDER BY s.created_at DESC, s.id DESC LIMIT $2 OFFSET $3`, [projectId, page.perPage, page.page * page.perPage])).map(
        toSchedule,
      ),
    cancelSchedule: async (projectId, id, now, signal) =>
      (await db.run(signal, "UPDATE schedules SET status = 'cancelled', next_start = NULL, updated_at = $1 WHERE id = $2 AND project_id = $3", [now, id, projectId])) > 0,
    updateSchedule: (projectId, id, s, now, signal) =>
      db.tx(signal, async (q) => {
        const locked = await q.one('SELECT id FROM schedules WHERE id = $1 AND project_id = $2 FOR UPDATE', [id, projectId]);
        const before = locked === undefined ? undefined : await getSchedule(q, projectId, id);
        if (before === undefined) return 'not_found';
        if (before.status !== 'scheduled') return 'finished';
        const after = afterUpdate(before, s, now);
        const cols = SCHEDULE_COLUMNS.length;
        await q.run(
          `UPDATE schedules SET ${assignments(SCHEDULE_COLUMNS, 1)}, next_start = $${cols + 1}, status = $${cols + 2}, msg = $${cols + 3}, updated_at = $${cols + 4} WHERE id = $${cols + 5}`,
          [...scheduleValues(s), after.next, after.status, after.msg, now, id],
        );
        return (await getSchedule(q, projectId, id)) ?? 'not_found';
      }),
    countActiveSchedules: async (projectId, signal) => Number((await db.one(signal, "SELECT COUNT(*) AS n FROM schedules WHERE project_id = $1 AND status = 'scheduled'", [projectId]))?.['n'] ?? 0),
    runDueSchedules: (now, signal) =>
      db.tx(signal, async (q) => {
        const ready = new ReadyCounter();
        let queued = 0;
        const due = await q.rows("SELECT * FROM schedules WHERE status = 'scheduled' AND next_start <= $1 ORDER BY next_start LIMIT $2 FOR UPDATE SKIP LOCKED", [now, DUE_BATCH]);
        for (const row of due) {
          const s = toSchedule(row);
          const code = await q.one('SELECT id, default_priority FROM codes WHERE project_id = $1 AND name = $2 AND NOT deleted', [s.projectId, s.codeName]);
          const busy =
            s.maxConcurrency === null ? 0 : Number((await q.one("SELECT COUNT(*) AS n FROM tasks WHERE schedule_id = $1 AND status IN ('queued','preparing','running')", [s.id]))?.['n'] ?? 0);
          const msg = skippedRun(s, now, code !== undefined, busy);
          if (code !== undefined && msg === '') {
            const dp = code['default_priority'];
            const t = await insertTask(q, scheduledTask(s, String(code['id']), dp === null ? null : Number(dp)), now);
            if (t.delay === 0) ready.add(t.clusterId);
            queued++;
          }
          const after = afterRun(s, now, code !== undefined && msg === '', msg);
          await q.run('UPDATE schedules SET run_count = $1, last_run_time = $2, next_start = $3, status = $4, msg = $5, updated_at = $2 WHERE id = $6', [
            after.runCount,
            now,
            after.next,
            after.status,
            after.msg,
            s.id,
          ]);
        }
        return { queued, ready: ready.list() };
      }),
  };
}
