// Task creation input validation: queue requests (JSON batch, webhook query) and schedules' task
// fields turned into checked values. Everything is checked before anything is written, so a bad task
// in a batch queues none of them. Fields are checked in request order, a code or cluster that does
// not exist (404) among them, so a request with several problems always gets the same answer.
import { MAX_TIMEOUT_S } from '../protocol/limits.js';
import { badRequest, notFound } from './http/errors.js';
import type { Cluster, Code, NewTask } from './store/records.js';
import { optNumber, optPriority, optString } from './validate.js';

export const MAX_DELAY_S = 604_800;
export const MAX_BATCH = 1000;

type Obj = Record<string, unknown>;

/** The look-ups the checks need (the queue service answers them). */
export interface TaskLookups {
  codeByName(projectId: string, name: string, signal: AbortSignal): Promise<Code | undefined>;
  /** `name` "" / undefined / "default" = the install's default cluster; a 404 when the project may use none by that name. */
  usableCluster(projectId: string, name: string | undefined, signal: AbortSignal): Promise<Cluster>;
}

export interface InputContext {
  readonly lookups: TaskLookups;
  readonly maxPayloadBytes: number;
  readonly signal: AbortSignal;
}

/** A task's timeout: 0 (or omitted) means "max allowed" (ironcli's flag help). */
export function timeoutOf(t: Obj): number {
  const timeout = optNumber(t, 'timeout', 0, MAX_TIMEOUT_S, { ceil: true }) ?? 0;
  return timeout === 0 ? MAX_TIMEOUT_S : timeout;
}

export function delayOf(t: Obj): number {
  return optNumber(t, 'delay', 0, MAX_DELAY_S, { ceil: true }) ?? 0;
}

export async function newTask(ic: InputContext, projectId: string, t: Obj, where: string): Promise<NewTask> {
  const codeName = optString(t, 'code_name') ?? '';
  if (codeName === '') throw badRequest(`${where}: code_name is required`);
  const payload = optString(t, 'payload', ic.maxPayloadBytes) ?? '';
  const code = await ic.lookups.codeByName(projectId, codeName, ic.signal);
  if (code === undefined) throw notFound(`${where}: code not found: ${JSON.stringify(codeName)}`);
  const timeout = timeoutOf(t);
  return {
    projectId,
    codeId: code.id,
    clusterId: (await ic.lookups.usableCluster(projectId, optString(t, 'cluster'), ic.signal)).id,
    priority: optPriority(t, 'priority') ?? code.defaultPriority ?? 0,
    timeout,
    delay: delayOf(t),
    payload,
    label: optString(t, 'label') ?? '',
  };
}

export async function newTasks(ic: InputContext, projectId: string, body: Obj): Promise<NewTask[]> {
  const list = body['tasks'];
  if (!Array.isArray(list) || list.length === 0) throw badRequest('tasks must be a non-empty array');
  if (list.length > MAX_BATCH) throw badRequest(`at most ${MAX_BATCH} tasks per request`);
  const out: NewTask[] = [];
  for (const [i, t] of list.entries()) {
    if (t === null || typeof t !== 'object' || Array.isArray(t)) throw badRequest(`tasks[${i}] must be an object`);
    out.push(await newTask(ic, projectId, t as Obj, `tasks[${i}]`));
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
