// Turning queue requests (JSON batch, webhook query) into validated NewTasks. Everything is checked
// before anything is written, so a bad task in a batch queues none of them.
import { usableCluster } from './cluster-access.js';
import type { Ctx } from './context.js';
import { badRequest, notFound } from './http/errors.js';
import type { NewTask } from './store/types.js';
import { optNumber, optPriority, optString } from './validate.js';

export const MAX_TIMEOUT_S = 3600;
export const MAX_DELAY_S = 604_800;
export const MAX_BATCH = 1000;

type Obj = Record<string, unknown>;

/** Resolves `cluster` ("" / null / "default" = the install's default cluster) to an id the project may use. */
export async function clusterIdFor(ctx: Ctx, projectId: string, name: string | undefined): Promise<string> {
  return (await usableCluster(ctx, projectId, name)).id;
}

export async function newTask(ctx: Ctx, projectId: string, t: Obj, where: string): Promise<NewTask> {
  const codeName = optString(t, 'code_name') ?? '';
  if (codeName === '') throw badRequest(`${where}: code_name is required`);
  const payload = optString(t, 'payload', ctx.deps.config.maxPayloadBytes) ?? '';
  const code = await ctx.deps.store.getCodeByName(projectId, codeName);
  if (code === undefined) throw notFound(`${where}: code not found: ${JSON.stringify(codeName)}`);
  const timeout = optNumber(t, 'timeout', 0, MAX_TIMEOUT_S, { ceil: true }) ?? 0;
  return {
    projectId,
    codeId: code.id,
    clusterId: await clusterIdFor(ctx, projectId, optString(t, 'cluster')),
    priority: optPriority(t, 'priority') ?? code.defaultPriority ?? 0,
    // 0 means "max allowed" (ironcli's flag help).
    timeout: timeout === 0 ? MAX_TIMEOUT_S : timeout,
    delay: optNumber(t, 'delay', 0, MAX_DELAY_S, { ceil: true }) ?? 0,
    payload,
    label: optString(t, 'label') ?? '',
  };
}

export async function newTasks(ctx: Ctx, projectId: string, body: Obj): Promise<NewTask[]> {
  const list = body['tasks'];
  if (!Array.isArray(list) || list.length === 0) throw badRequest('tasks must be a non-empty array');
  if (list.length > MAX_BATCH) throw badRequest(`at most ${MAX_BATCH} tasks per request`);
  const out: NewTask[] = [];
  for (const [i, t] of list.entries()) {
    if (t === null || typeof t !== 'object' || Array.isArray(t)) throw badRequest(`tasks[${i}] must be an object`);
    out.push(await newTask(ctx, projectId, t as Obj, `tasks[${i}]`));
  }
  return out;
}

/** Webhook: query parameters are strings; convert the numeric ones so the same checks apply. */
export function webhookFields(q: URLSearchParams, payload: string): Obj {
  const o: Obj = { code_name: q.get('code_name') ?? '', payload };
  for (const key of ['priority', 'timeout', 'delay']) {
    const v = q.get(key);
    if (v === null || v === '') continue;
    const n = Number(v);
    if (!Number.isFinite(n)) throw badRequest(`${key} must be a number`);
    o[key] = n;
  }
  for (const key of ['cluster', 'label']) {
    const v = q.get(key);
    if (v !== null) o[key] = v;
  }
  return o;
}
