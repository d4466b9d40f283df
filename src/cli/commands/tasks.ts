// `iron worker status|log|cancel|retry|list`: one task (or a filtered list of tasks) at a time.
import { TASK_STATUSES, type TaskInfo } from '../../api/index.js';
import { IronError, isIronError } from '../../errors.js';
import type { Opts } from '../args.js';
import type { Command } from '../command.js';
import { EXIT } from '../command.js';
import { followTask } from '../follow.js';
import { TerminalText, TRUNCATED_NOTE } from '../terminal-text.js';
import { fields, shortTime, table } from '../table.js';
import { printJson, seconds } from '../values.js';

const JSON_OPT = { name: 'json', type: 'boolean', help: 'print JSON' } as const;

function oneId(o: Opts, args: readonly string[]): string {
  const [id, ...extra] = args;
  if (id === undefined || id === '') throw o.fail('a task ID is required');
  if (extra.length > 0) throw o.fail(`unexpected argument ${JSON.stringify(extra[0])}`);
  return id;
}

/** Task fields for humans; never the payload (it may be a secret even when not encrypted). */
export function describeTask(t: TaskInfo): string {
  return fields([
    ['id', t.id],
    ['code', t.code_name],
    ['status', t.status],
    ['msg', t.msg],
    ['cluster', t.cluster],
    ['label', t.label],
    ['priority', t.priority],
    ['created', shortTime(t.created_at)],
    ['started', shortTime(t.start_time)],
    ['ended', shortTime(t.end_time)],
    ['duration', typeof t.duration === 'number' ? `${t.duration} ms` : undefined],
    ['log size', t.log_size],
    ['log truncated', t.log_truncated === true ? 'yes' : undefined],
    ['peak memory', typeof t.peak_memory === 'number' ? `${(t.peak_memory / 2 ** 20).toFixed(1)} MiB` : undefined],
    ['cpu', typeof t.cpu_seconds === 'number' ? `${t.cpu_seconds} s` : undefined],
  ]);
}

function withoutPayload(t: TaskInfo): Omit<TaskInfo, 'payload'> {
  const { payload: _payload, ...rest } = t;
  return rest;
}

export const statusCommand: Command = {
  path: ['worker', 'status'],
  summary: "show a task's status",
  synopsis: '[--json] ID',
  options: [JSON_OPT],
  async run(ctx, o, args) {
    const task = await ctx.api().project.getTask(oneId(o, args), ctx.signal);
    if (o.flag('json')) printJson((s) => ctx.out.write(s), withoutPayload(task));
    else ctx.out.write(describeTask(task));
    return EXIT.OK;
  },
};

export const logCommand: Command = {
  path: ['worker', 'log'],
  summary: "print a task's log",
  synopsis: '[--follow] [--raw] ID',
  options: [
    { name: 'follow', short: 'f', type: 'boolean', help: 'keep printing the log until the task ends' },
    { name: 'raw', type: 'boolean', help: 'print escape sequences as they are, even on a terminal' },
  ],
  async run(ctx, o, args) {
    const id = oneId(o, args);
    const raw = o.flag('raw');
    if (o.flag('follow')) {
      await followTask(ctx, id, { showStatus: false, printLog: true, raw });
      return EXIT.OK;
    }
    let log: Buffer;
    try {
      log = await ctx.api().project.getTaskLog(id, ctx.signal);
    } catch (err) {
      if (!isIronError(err, 'ERR_API_NOT_FOUND')) throw err;
      throw new IronError('ERR_API_NOT_FOUND', `no log for task ${id} (unknown task, or it has not written anything yet)`, { cause: err });
    }
    if (ctx.out.isTTY && !raw) {
      const text = new TerminalText();
      ctx.out.write(text.write(log) + text.end());
    } else ctx.out.write(log);
    // Truncation is the API's field, never a line of the log (a job could print any line).
    if ((await ctx.api().project.getTask(id, ctx.signal)).log_truncated === true) ctx.err.write(TRUNCATED_NOTE);
    return EXIT.OK;
  },
};

export const cancelCommand: Command = {
  path: ['worker', 'cancel'],
  summary: 'cancel a queued or running task',
  synopsis: 'ID',
  options: [],
  async run(ctx, o, args) {
    const id = oneId(o, args);
    const res = await ctx.api().project.cancelTask(id, ctx.signal);
    ctx.out.write(`${res.msg ?? 'Cancelled'}: ${id}\n`);
    return EXIT.OK;
  },
};

export const retryCommand: Command = {
  path: ['worker', 'retry'],
  summary: 'queue a copy of a finished task',
  synopsis: '[--delay SECONDS] ID',
  options: [{ name: 'delay', type: 'string', arg: 'SECONDS', help: 'queue the copy after this long' }, JSON_OPT],
  async run(ctx, o, args) {
    const id = oneId(o, args);
    const newId = await ctx.api().project.retryTask(id, Math.round(seconds(o, 'delay', 604_800) ?? 0), ctx.signal);
    if (o.flag('json')) printJson((s) => ctx.out.write(s), { id: newId, retry_of: id });
    else ctx.out.write(`Queued task with id='${newId}' (retry of ${id})\n`);
    return EXIT.OK;
  },
};

export const listCommand: Command = {
  path: ['worker', 'list'],
  summary: 'list tasks, newest first',
  synopsis: '[--code C] [--status S]... [--json]',
  options: [
    { name: 'code', type: 'string', arg: 'CODE_NAME', help: 'only tasks of this code' },
    { name: 'status', type: 'string', multiple: true, arg: 'STATUS', help: `only these statuses (${TASK_STATUSES.join(', ')})` },
    { name: 'cluster', type: 'string', arg: 'ID', help: 'only tasks of this cluster' },
    { name: 'label', type: 'string', arg: 'LABEL', help: 'only tasks with this label' },
    { name: 'page', type: 'string', arg: 'N', help: 'page number (0..100)' },
    { name: 'per-page', type: 'string', arg: 'N', help: 'tasks per page (1..100, default 30)' },
    JSON_OPT,
  ],
  async run(ctx, o, args) {
    if (args.length > 0) throw o.fail(`unexpected argument ${JSON.stringify(args[0])}`);
    const statuses = o
      .list('status')
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const bad = statuses.find((s) => !(TASK_STATUSES as readonly string[]).includes(s));
    if (bad !== undefined) throw o.fail(`unknown status ${JSON.stringify(bad)} (one of ${TASK_STATUSES.join(', ')})`);
    const page = o.int('page', 0, 100);
    const perPage = o.int('per-page', 1, 100);
    const code = o.str('code');
    const cluster = o.str('cluster');
    const label = o.str('label');
    const tasks = await ctx.api().project.listTasks(
      {
        statuses,
        ...(code === undefined ? {} : { codeName: code }),
        ...(cluster === undefined ? {} : { cluster }),
        ...(label === undefined ? {} : { label }),
        ...(page === undefined ? {} : { page }),
        ...(perPage === undefined ? {} : { perPage }),
      },
      ctx.signal,
    );
    if (o.flag('json')) {
      printJson((s) => ctx.out.write(s), tasks.map(withoutPayload));
      return EXIT.OK;
    }
    ctx.out.write(
      table(
        ['ID', 'CODE', 'STATUS', 'CREATED', 'MSG'],
        tasks.map((t) => [t.id, t.code_name, t.status, shortTime(t.created_at), (t.msg ?? '').slice(0, 60)]),
      ),
    );
    return EXIT.OK;
  },
};
