// Schedules: create (batch), list, get, cancel. The ticker queues their tasks when due. Every field of
// Iron's schedule API round-trips (docs/compatibility.md); combinations that cannot mean anything are 400.
import type { Handler } from '../context.js';
import { badRequest, notFound } from '../http/errors.js';
import type { Router } from '../http/router.js';
import { scheduleJson } from '../present.js';
import type { NewSchedule } from '../store/types.js';
import { clusterIdFor, MAX_DELAY_S, MAX_TIMEOUT_S } from '../task-input.js';
import { optNumber, optPriority, optString, optTime, pageOf } from '../validate.js';

const MAX_SCHEDULES_PER_PROJECT = 100;
const MIN_RUN_EVERY_S = 60;

export function registerScheduleRoutes(r: Router<Handler>): void {
  r.add('POST', '/2/projects/:pid/schedules', async (ctx) => {
    const pid = await ctx.project();
    const body = await ctx.json();
    const list = body['schedules'];
    if (!Array.isArray(list) || list.length === 0) throw badRequest('schedules must be a non-empty array');
    const active = await ctx.deps.store.countActiveSchedules(pid);
    if (active + list.length > MAX_SCHEDULES_PER_PROJECT) {
      throw badRequest(`at most ${MAX_SCHEDULES_PER_PROJECT} active schedules per project`);
    }
    const now = Date.now();
    const out: NewSchedule[] = [];
    for (const [i, raw] of list.entries()) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw badRequest(`schedules[${i}] must be an object`);
      const s = raw as Record<string, unknown>;
      const at = `schedules[${i}]`;
      const codeName = optString(s, 'code_name') ?? '';
      if (codeName === '') throw badRequest(`${at}: code_name is required`);
      if ((await ctx.deps.store.getCodeByName(pid, codeName)) === undefined) throw notFound(`${at}: code not found: ${JSON.stringify(codeName)}`);
      const payload = optString(s, 'payload', ctx.deps.config.maxPayloadBytes) ?? '';
      if (payload === '') throw badRequest(`${at}: payload is required (send "{}" for none)`);
      const runEvery = optNumber(s, 'run_every', 0, 10 * 365 * 86_400) ?? 0;
      if (runEvery !== 0 && runEvery < MIN_RUN_EVERY_S) throw badRequest(`${at}: run_every must be at least ${MIN_RUN_EVERY_S} seconds`);
      const startAt = optTime(s, 'start_at') ?? now;
      const endAt = optTime(s, 'end_at') ?? null;
      if (endAt !== null && endAt < startAt) throw badRequest(`${at}: end_at is before start_at`);
      const timeout = optNumber(s, 'timeout', 0, MAX_TIMEOUT_S, { ceil: true }) ?? 0;
      const runTimes = optNumber(s, 'run_times', 0, 1_000_000_000) ?? 0;
      // Without run_every a schedule runs once: more runs cannot happen, so asking for them is a mistake.
      if (runEvery === 0 && runTimes > 1) throw badRequest(`${at}: run_times ${runTimes} needs run_every (without it the schedule runs once)`);
      // 0 (and omitted) = no limit, as for a code's max_concurrency.
      const maxConcurrency = optNumber(s, 'max_concurrency', 0, 1_000_000) ?? 0;
      out.push({
        projectId: pid, codeName, payload, name: optString(s, 'name') ?? '', label: optString(s, 'label') ?? '',
        clusterId: await clusterIdFor(ctx, pid, optString(s, 'cluster')),
        priority: optPriority(s, 'priority') ?? null,
        timeout: timeout === 0 ? MAX_TIMEOUT_S : timeout,
        delay: optNumber(s, 'delay', 0, MAX_DELAY_S, { ceil: true }) ?? 0,
        startAt, endAt, runEvery: runEvery === 0 ? null : runEvery,
        runTimes, maxConcurrency: maxConcurrency === 0 ? null : maxConcurrency,
      });
    }
    const created = await ctx.deps.store.createSchedules(out, now);
    for (const s of created) if (s.nextStart !== null) ctx.deps.ticker.poke(s.nextStart);
    return { msg: 'Scheduled', schedules: created.map((s) => ({ id: s.id })) };
  });

  r.add('GET', '/2/projects/:pid/schedules', async (ctx) => {
    const pid = await ctx.project();
    return { schedules: (await ctx.deps.store.listSchedules(pid, pageOf(ctx.query))).map(scheduleJson) };
  });

  r.add('GET', '/2/projects/:pid/schedules/:id', async (ctx) => {
    const pid = await ctx.project();
    const s = await ctx.deps.store.getSchedule(pid, ctx.id('id', 'schedule'));
    if (s === undefined) throw notFound('Schedule not found');
    return scheduleJson(s);
  });

  r.add('POST', '/2/projects/:pid/schedules/:id/cancel', async (ctx) => {
    const pid = await ctx.project();
    await ctx.json();
    if (!(await ctx.deps.store.cancelSchedule(pid, ctx.id('id', 'schedule'), Date.now()))) throw notFound('Schedule not found');
    return { msg: 'Cancelled' };
  });
}
