// `iron worker schedule [create] CODE_NAME`, `iron worker schedule list`, `iron worker schedule cancel ID`.
// Like ironcli, schedule payloads are not encrypted (the schedule stores them for later runs).
import type { ScheduleSpec } from '../../api/index.js';
import type { Opts, OptSpec } from '../args.js';
import type { Command } from '../command.js';
import { EXIT } from '../command.js';
import type { CliContext } from '../context.js';
import { readPayload } from '../payload.js';
import { shortTime, table } from '../table.js';
import { printJson, priority, seconds } from '../values.js';

const CREATE_OPTIONS: readonly OptSpec[] = [
  { name: 'payload', short: 'p', type: 'string', arg: 'TEXT', help: 'payload of every task (default "{}")' },
  { name: 'payload-file', type: 'string', arg: 'FILE', help: 'read the payload from a file' },
  { name: 'start-at', type: 'string', arg: 'TIME', help: 'first run, RFC 3339 (default: now)' },
  { name: 'end-at', type: 'string', arg: 'TIME', help: 'no runs after this time, RFC 3339' },
  { name: 'run-every', type: 'string', arg: 'SECONDS', help: 'repeat every SECONDS (at least 60)' },
  { name: 'run-times', type: 'string', arg: 'N', help: 'stop after N runs' },
  { name: 'cluster', type: 'string', arg: 'ID', help: 'cluster to run on' },
  { name: 'priority', type: 'string', arg: '0|1|2', help: 'task priority' },
  { name: 'timeout', type: 'string', arg: 'SECONDS', help: 'task timeout (max 3600)' },
  { name: 'delay', type: 'string', arg: 'SECONDS', help: 'task delay' },
  { name: 'label', type: 'string', arg: 'LABEL', help: 'task label' },
  { name: 'max-concurrency', type: 'string', arg: 'N', help: 'at most N tasks of this schedule unfinished at once (a run due meanwhile is skipped)' },
  { name: 'name', type: 'string', arg: 'NAME', help: 'schedule name' },
  { name: 'json', type: 'boolean', help: 'print the new schedule id as JSON' },
];

function rfc3339(o: Opts, name: string): string | undefined {
  const v = o.str(name);
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(t)) throw o.fail(`--${name} must be an RFC 3339 time like 2026-01-31T12:00:00Z`);
  return new Date(t).toISOString();
}

async function create(ctx: CliContext, o: Opts, args: readonly string[]): Promise<number> {
  const [codeName, ...extra] = args;
  if (codeName === undefined || codeName === '') throw o.fail('a CODE_NAME is required');
  if (extra.length > 0) throw o.fail(`unexpected argument ${JSON.stringify(extra[0])}`);
  const payload = readPayload(ctx, o).toString('utf8');
  const runEvery = seconds(o, 'run-every', 10 * 365 * 24 * 3600);
  if (runEvery !== undefined && runEvery < 60) throw o.fail('--run-every must be at least 60 seconds');
  const optional: Record<string, unknown> = {
    start_at: rfc3339(o, 'start-at'),
    end_at: rfc3339(o, 'end-at'),
    run_every: runEvery === undefined ? undefined : Math.round(runEvery),
    run_times: o.int('run-times', 1, 1_000_000_000),
    cluster: o.str('cluster'),
    priority: priority(o, 'priority'),
    timeout: seconds(o, 'timeout', 3600),
    delay: seconds(o, 'delay', 604_800),
    label: o.str('label'),
    name: o.str('name'),
    max_concurrency: o.int('max-concurrency', 1, 1_000_000),
  };
  const spec = { code_name: codeName, payload: payload === '' ? '{}' : payload } as Record<string, unknown>;
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) spec[k] = v;
  const [id] = await ctx.api().project.createSchedules([spec as unknown as ScheduleSpec], ctx.signal);
  if (o.flag('json')) printJson((s) => ctx.out.write(s), { id });
  else ctx.out.write(`Scheduled '${codeName}' with id='${id ?? ''}'\n`);
  return EXIT.OK;
}

export const scheduleCommand: Command = {
  path: ['worker', 'schedule'],
  summary: 'schedule tasks (create; see also schedule list / cancel)',
  synopsis: '[flags] CODE_NAME',
  options: CREATE_OPTIONS,
  run: create,
};

export const scheduleCreateCommand: Command = {
  path: ['worker', 'schedule', 'create'],
  summary: 'schedule tasks for a code',
  synopsis: '[flags] CODE_NAME',
  options: CREATE_OPTIONS,
  run: create,
};

export const scheduleListCommand: Command = {
  path: ['worker', 'schedule', 'list'],
  summary: 'list schedules',
  synopsis: '[--json]',
  options: [{ name: 'json', type: 'boolean', help: 'print JSON' }],
  async run(ctx, o, args) {
    if (args.length > 0) throw o.fail(`unexpected argument ${JSON.stringify(args[0])}`);
    const list = await ctx.api().project.listSchedules(ctx.signal);
    const shown = list.map(({ payload: _p, ...rest }) => rest);
    if (o.flag('json')) printJson((s) => ctx.out.write(s), shown);
    else
      ctx.out.write(
        table(
          ['ID', 'CODE', 'STATUS', 'EVERY', 'RUNS', 'NEXT'],
          list.map((s) => [
            s.id,
            s.code_name,
            s.status ?? '',
            s.run_every === undefined ? '' : `${s.run_every}s`,
            `${s.run_count ?? 0}${s.run_times ? `/${s.run_times}` : ''}`,
            shortTime(s.next_start),
          ]),
        ),
      );
    return EXIT.OK;
  },
};

export const scheduleCancelCommand: Command = {
  path: ['worker', 'schedule', 'cancel'],
  summary: 'cancel a schedule',
  synopsis: 'ID',
  options: [],
  async run(ctx, o, args) {
    const [id] = args;
    if (id === undefined || args.length !== 1) throw o.fail('exactly one schedule ID is required');
    const res = await ctx.api().project.cancelSchedule(id, ctx.signal);
    ctx.out.write(`${res.msg ?? 'Cancelled'}: ${id}\n`);
    return EXIT.OK;
  },
};
