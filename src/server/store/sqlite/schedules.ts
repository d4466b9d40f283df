// Schedules and the scheduler's one transactional step: queue a task for every due schedule.
import { newId } from '../../ids.js';
import type { NewSchedule, Page, ReadyCount, Schedule } from '../types.js';
import { ReadyCounter } from './ready-counter.js';
import type { Db } from './db.js';
import { toSchedule } from './rows.js';
import { insertTask } from './tasks.js';

type R = Record<string, unknown>;

export function createSchedules(db: Db, list: readonly NewSchedule[], now: number): Schedule[] {
  return db.tx(() =>
    list.map((s) => {
      const id = newId(now);
      db.run(
        `INSERT INTO schedules (id, project_id, code_name, name, payload, label, cluster_id, priority, timeout, delay, start_at, end_at,
           run_every, run_times, next_start, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'scheduled', ?, ?)`,
        id, s.projectId, s.codeName, s.name, s.payload, s.label, s.clusterId, s.priority, s.timeout, s.delay, s.startAt,
        s.endAt, s.runEvery, s.runTimes, s.startAt, now, now,
      );
      const row = db.get<R>('SELECT * FROM schedules WHERE id = ?', id);
      if (row === undefined) throw new Error('schedule vanished inside its own transaction');
      return toSchedule(row);
    }),
  );
}

export function getSchedule(db: Db, projectId: string, id: string): Schedule | undefined {
  const r = db.get<R>('SELECT * FROM schedules WHERE id = ? AND project_id = ?', id, projectId);
  return r === undefined ? undefined : toSchedule(r);
}

export function listSchedules(db: Db, projectId: string, page: Page): Schedule[] {
  return db
    .all<R>('SELECT * FROM schedules WHERE project_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?', projectId, page.perPage, page.page * page.perPage)
    .map(toSchedule);
}

export function cancelSchedule(db: Db, projectId: string, id: string, now: number): boolean {
  return db.run(
    "UPDATE schedules SET status = 'cancelled', next_start = NULL, updated_at = ? WHERE id = ? AND project_id = ?",
    now, id, projectId,
  ) > 0;
}

export function countActiveSchedules(db: Db, projectId: string): number {
  return Number(db.get<R>("SELECT COUNT(*) AS n FROM schedules WHERE project_id = ? AND status = 'scheduled'", projectId)?.['n'] ?? 0);
}

export function runDueSchedules(db: Db, now: number): { queued: number; ready: ReadyCount[] } {
  return db.tx(() => {
    const ready = new ReadyCounter();
    let queued = 0;
    for (const row of db.all<R>("SELECT * FROM schedules WHERE status = 'scheduled' AND next_start <= ?", now)) {
      const s = toSchedule(row);
      const code = db.get<R>('SELECT id, default_priority FROM codes WHERE project_id = ? AND name = ? AND deleted = 0', s.projectId, s.codeName);
      let msg = '';
      if (code === undefined) {
        // Keep the schedule: the code may be registered again; this run is skipped and said so.
        msg = `code ${s.codeName} not found at ${new Date(now).toISOString()}`;
      } else {
        const dp = code['default_priority'];
        const t = insertTask(db, {
          projectId: s.projectId, codeId: String(code['id']), clusterId: s.clusterId,
          priority: s.priority ?? (dp === null ? 0 : Number(dp)), timeout: s.timeout, delay: s.delay,
          payload: s.payload, label: s.label, scheduleId: s.id,
        }, now);
        if (t.delay === 0) ready.add(t.clusterId);
        queued++;
      }
      const runCount = s.runCount + (code === undefined ? 0 : 1);
      let next: number | null = null;
      if (s.runEvery !== null) {
        next = (s.nextStart ?? now) + s.runEvery * 1000;
        // After downtime, missed runs are not replayed one by one: the next run is the next slot after now.
        if (next <= now) next = now + s.runEvery * 1000 - ((now - next) % (s.runEvery * 1000));
      }
      let status: Schedule['status'] = 'scheduled';
      if (next === null || (s.runTimes > 0 && runCount >= s.runTimes) || (s.endAt !== null && next > s.endAt)) {
        status = 'complete';
        next = null;
        if (msg === '') msg = 'Ran max times.';
      }
      db.run(
        'UPDATE schedules SET run_count = ?, last_run_time = ?, next_start = ?, status = ?, msg = ?, updated_at = ? WHERE id = ?',
        runCount, now, next, status, msg, now, s.id,
      );
    }
    return { queued, ready: ready.list() };
  });
}
