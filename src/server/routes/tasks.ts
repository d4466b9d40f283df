// Tasks: queue (batch and webhook), list with Iron's filters, get, log, cancel, retry, progress.
import { TASK_STATUSES, type TaskStatus } from '../../protocol/statuses.js';
import type { Ctx, Handler } from '../context.js';
import { HANDLED } from '../context.js';
import type { Router } from '../http/router.js';
import { taskJson } from '../present.js';
import type { InputContext } from '../task-create-input.js';
import { MAX_DELAY_S, newTask, newTasks, webhookFields } from '../task-create-input.js';
import { optNumber, optString, pageOf, queryUnix } from '../validate.js';

export function registerTaskRoutes(r: Router<Handler>): void {
  r.add('POST', '/2/projects/:pid/tasks', async (ctx) => {
    const pid = await ctx.project();
    const list = await newTasks(input(ctx), pid, await ctx.json());
    const tasks = await ctx.deps.services.queue.queue(list, 'api', ctx.signal);
    return { msg: 'Queued up', tasks: tasks.map((t) => ({ id: t.id })) };
  });

  r.add('POST', '/2/projects/:pid/tasks/webhook', async (ctx) => {
    const pid = await ctx.project();
    const max = ctx.deps.config.maxPayloadBytes;
    const payload = (await ctx.body(max)).toString('utf8');
    const one = await newTask(input(ctx), pid, webhookFields(ctx.query, payload), 'webhook');
    const [task] = await ctx.deps.services.queue.queue([one], 'webhook', ctx.signal);
    return { id: task?.id, msg: 'Queued up.' };
  });

  r.add('GET', '/2/projects/:pid/tasks', async (ctx) => {
    const pid = await ctx.project();
    const q = ctx.query;
    // Any non-empty value turns a status on (iron_go3 sends `queued=%!d(bool=true)`).
    const statuses: TaskStatus[] = TASK_STATUSES.filter((s) => (q.get(s) ?? '') !== '');
    const codeName = q.get('code_name') ?? '';
    const label = q.get('label') ?? '';
    const cluster = q.get('cluster') ?? '';
    const fromTime = queryUnix(q, 'from_time');
    const toTime = queryUnix(q, 'to_time');
    const tasks = await ctx.deps.services.queue.list(
      pid,
      {
        ...pageOf(q),
        statuses,
        ...(codeName !== '' ? { codeName } : {}),
        ...(label !== '' ? { label } : {}),
        ...(cluster !== '' ? { cluster } : {}),
        ...(fromTime !== undefined ? { fromTime } : {}),
        ...(toTime !== undefined ? { toTime } : {}),
      },
      ctx.signal,
    );
    return { tasks: tasks.map(taskJson) };
  });

  r.add('GET', '/2/projects/:pid/tasks/:id', async (ctx) => {
    const pid = await ctx.project();
    return taskJson(await ctx.deps.services.queue.get(pid, ctx.id('id', 'task'), ctx.signal));
  });

  const log: Handler = async (ctx) => {
    const pid = await ctx.project();
    const { size, stream } = await ctx.deps.services.queue.log(pid, ctx.id('id', 'task'), ctx.signal);
    ctx.res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': size, 'cache-control': 'no-store' });
    if (size === 0 || ctx.req.method === 'HEAD') {
      ctx.res.end();
      return HANDLED;
    }
    const bytes = stream();
    await new Promise<void>((resolve, reject) => {
      bytes.on('error', reject);
      ctx.res.on('close', resolve);
      bytes.pipe(ctx.res);
    });
    return HANDLED;
  };
  r.add('GET', '/2/projects/:pid/tasks/:id/log', log);
  r.add('GET', '/2/projects/:pid/tasks/:id/outlog', log);

  r.add('POST', '/2/projects/:pid/tasks/:id/cancel', async (ctx) => {
    const pid = await ctx.project();
    await ctx.json();
    await ctx.deps.services.queue.cancel(pid, ctx.id('id', 'task'), ctx.signal);
    return { msg: 'Cancelled' };
  });

  r.add('POST', '/2/projects/:pid/tasks/:id/retry', async (ctx) => {
    const pid = await ctx.project();
    const id = ctx.id('id', 'task');
    const delay = optNumber(await ctx.json(), 'delay', 0, MAX_DELAY_S, { ceil: true }) ?? 0;
    const next = await ctx.deps.services.queue.retry(pid, id, delay, ctx.signal);
    return { msg: 'Queued up', tasks: [{ id: next.id }] };
  });

  r.add('POST', '/2/projects/:pid/tasks/:id/progress', async (ctx) => {
    const pid = await ctx.project();
    const id = ctx.id('id', 'task');
    const body = await ctx.json();
    const percent = optNumber(body, 'percent', 0, 100) ?? null;
    const msg = optString(body, 'msg', ctx.deps.config.maxPayloadBytes) ?? null;
    await ctx.deps.services.queue.progress(pid, id, percent, msg, ctx.signal);
    return { msg: 'Progress set' };
  });
}

/** What task creation input validation needs from this request. */
function input(ctx: Ctx): InputContext {
  return { lookups: ctx.deps.services.queue.lookups, maxPayloadBytes: ctx.deps.config.maxPayloadBytes, signal: ctx.signal };
}
