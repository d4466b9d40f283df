// Schedules: create (batch), list, get, update, cancel. The scheduler queues their tasks when due. Every field of
// Iron's schedule API round-trips (docs/compatibility.md); combinations that cannot mean anything are 400.
import type { Ctx, Handler } from '../context.js';
import { badRequest, notFound } from '../http/errors.js';
import type { Router } from '../http/router.js';
import { scheduleJson } from '../present.js';
import type { NewSchedule, Schedule } from '../store/records.js';
import { delayOf, timeoutOf } from '../task-create-input.js';
import { optNumber, optPriority, optString, optTime, pageOf } from '../validate.js';

const MIN_RUN_EVERY_S = 60;

export function registerScheduleRoutes(r: Router<Handler>): void {
  r.add('POST', '/2/projects/:pid/schedules', async (ctx) => {
    const pid = await ctx.project();
    const body = await ctx.json();
    const list = body['schedules'];
    if (!Array.isArray(list) || list.length === 0) throw badRequest('schedules must be a non-empty array');
    const created = await ctx.deps.services.schedules.create(
      pid,
      list.length,
      async (now) => {
        const out: NewSchedule[] = [];
        for (const [i, raw] of list.entries()) {
          if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw badRequest(`schedules[${i}] must be an object`);
          out.push(await scheduleFrom(ctx, pid, raw as Record<string, unknown>, `schedules[${i}]`, now));
        }
        return out;
      },
      ctx.signal,
    );
    return { msg: 'Scheduled', schedules: created.map((s) => ({ id: s.id })) };
  });

  r.add('GET', '/2/projects/:pid/schedules', async (ctx) => {
    const pid = await ctx.project();
    return { schedules: (await ctx.deps.services.schedules.list(pid, pageOf(ctx.query), ctx.signal)).map(scheduleJson) };
  });

  r.add('GET', '/2/projects/:pid/schedules/:id', async (ctx) => {
    const pid = await ctx.project();
    return scheduleJson(await ctx.deps.services.schedules.get(pid, ctx.id('id', 'schedule'), ctx.signal));
  });

  // Ruby's schedules_update: a partial body over the schedule's fields, checked like a new schedule.
  r.add('PUT', '/2/projects/:pid/schedules/:id', async (ctx) => {
    const pid = await ctx.project();
    const id = ctx.id('id', 'schedule');
    const body = await ctx.json();
    const patch = body['schedule'] !== null && typeof body['schedule'] === 'object' && !Array.isArray(body['schedule']) ? (body['schedule'] as Record<string, unknown>) : body;
    const out = await ctx.deps.services.schedules.update(pid, id, (before, now) => scheduleFrom(ctx, pid, { ...asRequest(before), ...patch }, 'schedule', now), ctx.signal);
    return { msg: 'Updated', ...scheduleJson(out) };
  });

  r.add('POST', '/2/projects/:pid/schedules/:id/cancel', async (ctx) => {
    const pid = await ctx.project();
    await ctx.json();
    await ctx.deps.services.schedules.cancel(pid, ctx.id('id', 'schedule'), ctx.signal);
    return { msg: 'Cancelled' };
  });
}

/** One schedule of a create (or an update merged over the stored one), checked field by field. */
async function scheduleFrom(ctx: Ctx, pid: string, s: Record<string, unknown>, at: string, now: number): Promise<NewSchedule> {
  const lookups = ctx.deps.services.schedules.lookups;
  const codeName = optString(s, 'code_name') ?? '';
  if (codeName === '') throw badRequest(`${at}: code_name is required`);
  if ((await lookups.codeByName(pid, codeName, ctx.signal)) === undefined) throw notFound(`${at}: code not found: ${JSON.stringify(codeName)}`);
  const payload = optString(s, 'payload', ctx.deps.config.maxPayloadBytes) ?? '';
  if (payload === '') throw badRequest(`${at}: payload is required (send "{}" for none)`);
  const runEvery = optNumber(s, 'run_every', 0, 10 * 365 * 86_400) ?? 0;
  if (runEvery !== 0 && runEvery < MIN_RUN_EVERY_S) throw badRequest(`${at}: run_every must be at least ${MIN_RUN_EVERY_S} seconds`);
  const startAt = optTime(s, 'start_at') ?? now;
  const endAt = optTime(s, 'end_at') ?? null;
  if (endAt !== null && endAt < startAt) throw badRequest(`${at}: end_at is before start_at`);
  const timeout = timeoutOf(s);
  const runTimes = optNumber(s, 'run_times', 0, 1_000_000_000) ?? 0;
  // Without run_every a schedule runs once: more runs cannot happen, so asking for them is a mistake.
  if (runEvery === 0 && runTimes > 1) throw badRequest(`${at}: run_times ${runTimes} needs run_every (without it the schedule runs once)`);
  // 0 (and omitted) = no limit, as for a code's max_concurrency.
  const maxConcurrency = optNumber(s, 'max_concurrency', 0, 1_000_000) ?? 0;
  return {
    projectId: pid,
    codeName,
    payload,
    name: optString(s, 'name') ?? '',
    label: optString(s, 'label') ?? '',
    clusterId: (await lookups.usableCluster(pid, optString(s, 'cluster'), ctx.signal)).id,
    priority: optPriority(s, 'priority') ?? null,
    timeout,
    delay: delayOf(s),
    startAt,
    endAt,
    runEvery: runEvery === 0 ? null : runEvery,
    runTimes,
    maxConcurrency: maxConcurrency === 0 ? null : maxConcurrency,
  };
}

/** A stored schedule in the shape of a create request, for an update to be merged over. */
function asRequest(s: Schedule): Record<string, unknown> {
  return {
    code_name: s.codeName,
    payload: s.payload,
    name: s.name,
    label: s.label,
    cluster: s.clusterId,
    priority: s.priority,
    timeout: s.timeout,
    delay: s.delay,
    start_at: new Date(s.startAt).toISOString(),
    end_at: s.endAt === null ? null : new Date(s.endAt).toISOString(),
    run_every: s.runEvery,
    run_times: s.runTimes,
    max_concurrency: s.maxConcurrency,
  };
}
