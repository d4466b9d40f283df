// Schedules and the scheduler's one transactional step: queue a task for every due schedule.
import { newId } from '../../ids.js';
import type { NewSchedule, Page, ReadyCount, Schedule } from '../records.js';
import { ReadyCounter } from '../ready-counter.js';
import { assignments, placeholders, SCHEDULE_COLUMNS, scheduleValues } from '../columns.js';
import type { Db } from './db.js';
import { toSchedule } from '../rows.js';
import { afterRun, afterUpdate, scheduledTask, skippedRun } from '../schedule-runs.js';
import { insertTask } from './tasks.js';

type R = Record<string, unknown>;

/** Schedules with Iron's error_count: how many of their tasks ended error or timeout. */
const SELECT_SCHEDULES = `SELECT s.*, (SELECT COUNT(*) FROM tasks t WHERE t.schedule_id = s.id AND t.status IN ('error','timeout')) AS error_count
  FROM schedules s`;

export function createSchedules(db: Db, list: readonly NewSchedule[], now: number): Schedule[] {
  return db.tx(() =>
    list.map((s) => {
      const id = newId(now);
      db.run(
        `INSERT INTO schedules (id, project_id, ${SCHEDULE_COLUMNS.join(', ')}, next_start, status, created_at, updated_at)
         VALUES (?, ?, ${placeholders(SCHEDULE_COLUMNS.length)}, ?, 'scheduled', ?, ?)`,
        id,
        s.projectId,
        ...scheduleValues(s),
        s.startAt,
        now,
        now,
      );
      const row = db.get<R>(`${SELECT_SCHEDULES} WHERE s.id = ?`, id);
      if (row === undefined) throw new Error('schedule vanished inside its own transaction');
      return toSchedule(row);
    }),
  );
}

export function getSchedule(db: Db, projectId: string, id: string): Schedule | undefined {
  const r = db.get<R>(`${SELECT_SCHEDULES} WHERE s.id = ? AND s.project_id = ?`, id, projectId);
  return r === undefined ? undefined : toSchedule(r);
}

export function listSchedules(db: Db, projectId: string, page: Page): Schedule[] {
  return db.all<R>(`${SELECT_SCHEDULES} WHERE s.project_id = ? ORDER BY s.created_at DESC, s.id DESC LIMIT ? OFFSET ?`, projectId, page.perPage, page.page * page.perPage).map(toSchedule);
}

export function cancelSchedule(db: Db, projectId: string, id: string, now: number): boolean {
  return db.run("UPDATE schedules SET status = 'cancelled', next_start = NULL, updated_at = ? WHERE id = ? AND project_id = ?", now, id, projectId) > 0;
}

export function updateSchedule(db: Db, projectId: string, id: string, s: NewSchedule, now: number): Schedule | 'not_found' | 'finished' {
  return db.tx(() => {
    const before = getSchedule(db, projectId, id);
    if (before === undefined) return 'not_found';
    if (before.status !== 'scheduled') return 'finished';
    const after = afterUpdate(before, s, now);
    db.run(
      `UPDATE schedules SET ${assignments(SCHEDULE_COLUMNS)}, next_start = ?, status = ?, msg = ?, updated_at = ? WHERE id = ?`,
      ...scheduleValues(s),
      after.next,
      after.status,
      after.msg,
      now,
      id,
    );
    return getSchedule(db, projectId, id) ?? 'not_found';
  });
}

export function countActiveSchedules(db: Db, projectId: string): number {
  return Number(db.get<R>("SELECT COUNT(*) AS n FROM schedules WHERE project_id = ? AND status = 'scheduled'", projectId)?.['n'] ?? 0);
}

export function runDueSchedules(db: Db, now: number): { queued: number; ready: ReadyCount[] } {
  return db.tx(() => {
    const ready = new ReadyCounter();
    let queued = 0;
    for (const row of db.all<R>(`${SELECT_SCHEDULES} WHERE s.status = 'scheduled' AND s.next_start <= ?`, now)) {
      const s = toSchedule(row);
      const code = db.get<R>('SELECT id, default_priority FROM codes WHERE project_id = ? AND name = ? AND deleted = 0', s.projectId, s.codeName);
      const busy = s.maxConcurrency === null ? 0 : unfinishedTasks(db, s.id);
      const msg = skippedRun(s, now, code !== undefined, busy);
      if (code !== undefined && msg === '') {
        const dp = code['default_priority'];
        const t = insertTask(db, scheduledTask(s, String(code['id']), dp === null ? null : Number(dp)), now);
        if (t.delay === 0) ready.add(t.clusterId);
        queued++;
      }
      const after = afterRun(s, now, code !== undefined && msg === '', msg);
      db.run(
        'UPDATE schedules SET run_count = ?, last_run_time = ?, next_start = ?, status = ?, msg = ?, updated_at = ? WHERE id = ?',
        after.runCount,
        now,
        after.next,
        after.status,
        after.msg,
        now,
        s.id,
      );
    }
    return { queued, ready: ready.list() };
  });
}

function unfinishedTasks(db: Db, scheduleId: string): number {
  const r = db.get<R>("SELECT COUNT(*) AS n FROM tasks WHERE schedule_id = ? AND status IN ('queued','preparing','running')", scheduleId);
  return Number(r?.['n'] ?? 0);
}
