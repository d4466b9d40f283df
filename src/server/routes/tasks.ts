// Tasks: queue (batch and webhook), list with Iron's filters, get, log, cancel, retry, progress.
import { findUsableCluster } from '../cluster-access.js';
import type { Ctx, Handler } from '../context.js';
import { HANDLED } from '../context.js';
import { conflict, notFound } from '../http/errors.js';
import type { Router } from '../http/router.js';
import { taskJson } from '../present.js';
import { TASK_STATUSES, type NewTask, type Task, type TaskStatus } from '../store/types.js';
import { MAX_DELAY_S, newTask, newTasks, webhookFields } from '../task-input.js';
import { optNumber, optString, pageOf, queryUnix } from '../validate.js';

export function registerTaskRoutes(r: Router<Handler>): void {
  r.add('POST', '/2/projects/:pid/tasks', async (ctx) => {
    const pid = await ctx.project();
    const tasks = await queue(ctx, await newTasks(ctx, pid, await ctx.json()), 'api');
    return { msg: 'Queued up', tasks: tasks.map((t) => ({ id: t.id })) };
  });

  r.add('POST', '/2/projects/:pid/tasks/webhook', async (ctx) => {
    const pid = await ctx.project();
    const max = ctx.deps.config.maxPayloadBytes;
    const payload = (await ctx.body(max)).toString('utf8');
    const [task] = await queue(ctx, [await newTask(ctx, pid, webhookFields(ctx.query, payload), 'webhook')], 'webhook');
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
    let clusterId: string | undefined;
    if (cluster !== '') {
      const c = await findUsableCluster(ctx, pid, cluster);
      if (c === undefined) return { tasks: [] };
      clusterId = c.id;
    }
    const tasks = await ctx.deps.store.listTasks({
      projectId: pid, ...pageOf(q), statuses,
      ...(codeName !== '' ? { codeName } : {}), ...(label !== '' ? { label } : {}),
      ...(clusterId !== undefined ? { clusterId } : {}),
      ...(fromTime !== undefined ? { fromTime } : {}), ...(toTime !== undefined ? { toTime } : {}),
    });
    return { tasks: tasks.map(taskJson) };
  });

  r.add('GET', '/2/projects/:pid/tasks/:id', async (ctx) => taskJson(await task(ctx)));

  const log: Handler = async (ctx) => {
    const t = await task(ctx);
    const size = await ctx.deps.logs.size(t.id);
    // 404 until the first byte exists: iron_go3 and the node client retry on it.
    if (size === undefined) throw notFound('Log not found');
    ctx.res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': size, 'cache-control': 'no-store' });
    if (size === 0 || ctx.req.method === 'HEAD') {
      ctx.res.end();
      return HANDLED;
    }
    // The log may grow while we read (live tasks): serve exactly the bytes that existed at stat time.
    const stream = ctx.deps.logs.stream(t.id, size);
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      ctx.res.on('close', resolve);
      stream.pipe(ctx.res);
    });
    return HANDLED;
  };
  r.add('GET', '/2/projects/:pid/tasks/:id/log', log);
  r.add('GET', '/2/projects/:pid/tasks/:id/outlog', log);

  r.add('POST', '/2/projects/:pid/tasks/:id/cancel', async (ctx) => {
    const pid = await ctx.project();
    await ctx.json();
    const before = await ctx.deps.store.getTask(pid, ctx.id('id', 'task'));
    if (before === undefined) throw notFound('Task not found');
    const after = await ctx.deps.store.cancelTask(pid, before.id, Date.now());
    if (after?.status !== 'cancelled') throw conflict(`task already finished (${after?.status ?? before.status})`);
    if (before.status !== 'queued') await wakeFreedSlot(ctx, before.codeId);
    return { msg: 'Cancelled' };
  });

  r.add('POST', '/2/projects/:pid/tasks/:id/retry', async (ctx) => {
    const pid = await ctx.project();
    const id = ctx.id('id', 'task');
    const delay = optNumber(await ctx.json(), 'delay', 0, MAX_DELAY_S, { ceil: true }) ?? 0;
    const out = await ctx.deps.store.retryTask(pid, id, delay, Date.now());
    if (out === 'not_found') throw notFound('Task not found');
    if (out === 'not_finished') throw conflict('only a finished task can be retried');
    notifyQueued(ctx, [out]);
    ctx.deps.metrics.tasksQueued.inc({ source: 'retry' });
    return { msg: 'Queued up', tasks: [{ id: out.id }] };
  });

  r.add('POST', '/2/projects/:pid/tasks/:id/progress', async (ctx) => {
    const pid = await ctx.project();
    const id = ctx.id('id', 'task');
    const body = await ctx.json();
    const percent = optNumber(body, 'percent', 0, 100) ?? null;
    const msg = optString(body, 'msg', ctx.deps.config.maxPayloadBytes) ?? null;
    if (!(await ctx.deps.store.setProgress(pid, id, percent, msg, Date.now()))) throw notFound('Task not found');
    return { msg: 'Progress set' };
  });
}

async function task(ctx: Ctx): Promise<Task> {
  const pid = await ctx.project();
  const t = await ctx.deps.store.getTask(pid, ctx.id('id', 'task'));
  if (t === undefined) throw notFound('Task not found');
  return t;
}

async function queue(ctx: Ctx, list: NewTask[], source: string): Promise<Task[]> {
  const tasks = await ctx.deps.store.queueTasks(list, Date.now());
  ctx.deps.metrics.tasksQueued.inc({ source }, tasks.length);
  notifyQueued(ctx, tasks);
  return tasks;
}

/** Ready tasks wake as many of their cluster's parked reserves; delayed ones arm the ticker. */
export function notifyQueued(ctx: Ctx, tasks: readonly Task[]): void {
  const ready = new Map<string, number>();
  for (const t of tasks) {
    if (t.delay === 0) ready.set(t.clusterId, (ready.get(t.clusterId) ?? 0) + 1);
    else ctx.deps.ticker.poke(t.availableAt);
  }
  for (const [c, n] of ready) ctx.deps.wakeups.wake(c, n);
}

/**
 * A task of the code left preparing/running: if the code was at its max_concurrency, one of its
 * waiting tasks may run now. One reserve per cluster holding such tasks looks (a wasted look costs
 * one indexed query; a missed one would leave the task waiting for a timeout).
 */
export async function wakeFreedSlot(ctx: Ctx, codeId: string): Promise<void> {
  for (const r of await ctx.deps.store.readyClustersOf(codeId)) ctx.deps.wakeups.wake(r.clusterId, 1);
}

