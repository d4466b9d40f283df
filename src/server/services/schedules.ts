// Schedules: create (batch, within the project's quota), list, get, update, cancel. The scheduler
// queues their tasks when due; a new or changed schedule arms it for its next start.
import { badRequest, conflict, notFound } from '../http/errors.js';
import type { NewSchedule, Page, Schedule } from '../store/records.js';
import type { TaskLookups } from '../task-create-input.js';
import type { ServicesCore } from './core.js';

export const MAX_SCHEDULES_PER_PROJECT = 100;

export class Schedules {
  constructor(private readonly core: ServicesCore) {}

  /** What schedule input validation looks up (code names, clusters). */
  get lookups(): TaskLookups {
    return this.core.lookups;
  }

  /** `count` new schedules, built by `build` (at `now`) once the quota allows that many. */
  async create(projectId: string, count: number, build: (now: number) => Promise<NewSchedule[]>, signal: AbortSignal): Promise<Schedule[]> {
    const { schedules } = this.core.store;
    const active = await schedules.countActiveSchedules(projectId, signal);
    if (active + count > MAX_SCHEDULES_PER_PROJECT) {
      throw badRequest(`at most ${MAX_SCHEDULES_PER_PROJECT} active schedules per project`);
    }
    const now = Date.now();
    const created = await schedules.createSchedules(await build(now), now, signal);
    for (const s of created) if (s.nextStart !== null) this.core.readiness.dueAt(s.nextStart);
    return created;
  }

  list(projectId: string, page: Page, signal: AbortSignal): Promise<Schedule[]> {
    return this.core.store.schedules.listSchedules(projectId, page, signal);
  }

  async get(projectId: string, id: string, signal: AbortSignal): Promise<Schedule> {
    const s = await this.core.store.schedules.getSchedule(projectId, id, signal);
    if (s === undefined) throw notFound('Schedule not found');
    return s;
  }

  /** Replaces the schedule's fields with what `build` makes of the stored schedule; runs so far are kept. */
  async update(projectId: string, id: string, build: (before: Schedule, now: number) => Promise<NewSchedule>, signal: AbortSignal): Promise<Schedule> {
    const before = await this.get(projectId, id, signal);
    const now = Date.now();
    const next = await build(before, now);
    const out = await this.core.store.schedules.updateSchedule(projectId, id, next, now, signal);
    if (out === 'not_found') throw notFound('Schedule not found');
    if (out === 'finished') throw conflict(`schedule already ${before.status}`);
    if (out.nextStart !== null) this.core.readiness.dueAt(out.nextStart);
    return out;
  }

  async cancel(projectId: string, id: string, signal: AbortSignal): Promise<void> {
    if (!(await this.core.store.schedules.cancelSchedule(projectId, id, Date.now(), signal))) throw notFound('Schedule not found');
  }
}
