// Queue-side helpers against a test iron-api (test/helpers/api.ts): register a code, queue tasks,
// reserve them as a runner would, read a task. The fetch-based ones check the wire as well (a
// non-200 answer throws with its body); queueTasks goes through the project client of src/api.
import type { Api } from './api.js';
import { call, type Res } from './http.js';

/** What these helpers need of an API: its URL and its bootstrap credentials. */
export type ApiTarget = Pick<Api, 'url' | 'projectId' | 'projectToken' | 'clusterId' | 'clusterToken'>;

/** The image every test code runs unless `extra` names another. */
export const TEST_IMAGE = 'iron-test/busybox:1';

/** Registers an image code (`extra` over name and image, e.g. command, env) and returns its id. */
export async function registerCode(s: ApiTarget, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await call(s.url, 'POST', `/2/projects/${s.projectId}/codes`, { token: s.projectToken, json: { name, image: TEST_IMAGE, ...extra } });
  if (r.status !== 200) throw new Error(`register failed: ${r.status} ${r.text}`);
  return r.body['id'] as string;
}

/** Queues the tasks as given (raw wire records) and returns their ids. */
export async function queue(s: ApiTarget, tasks: Record<string, unknown>[]): Promise<string[]> {
  const r = await call<{ tasks: { id: string }[] }>(s.url, 'POST', `/2/projects/${s.projectId}/tasks`, { token: s.projectToken, json: { tasks } });
  if (r.status !== 200) throw new Error(`queue failed: ${r.status} ${r.text}`);
  return r.body.tasks.map((t) => t.id);
}

/**
 * Queues `n` tasks of `code` on the API's own cluster through the project client; `payload` may
 * differ per task. `extra` goes on every task (priority, timeout, ...).
 */
export async function queueTasks(
  api: Pick<Api, 'client' | 'clusterId'>,
  code: string,
  opts: { n?: number; payload?: string | ((i: number) => string); extra?: Record<string, unknown> } = {},
): Promise<string[]> {
  const payload = opts.payload ?? '';
  return api.client.project.queueTasks(
    Array.from({ length: opts.n ?? 1 }, (_, i) => ({ code_name: code, payload: typeof payload === 'string' ? payload : payload(i), cluster: api.clusterId, ...opts.extra })),
    AbortSignal.timeout(10_000),
  );
}

export interface Reserved {
  id: string;
  reservation_id: string;
  priority: number;
  attempt: number;
  [k: string]: unknown;
}

export async function reserve(s: ApiTarget, n = 1, wait = 0, instance = 'runner-1', cid = s.clusterId, token = s.clusterToken): Promise<Reserved[]> {
  const r = await call<{ tasks: Reserved[] }>(s.url, 'POST', `/2/clusters/${cid}/runner/reserve`, { token, json: { instance_id: instance, n, wait } });
  if (r.status !== 200) throw new Error(`reserve failed: ${r.status} ${r.text}`);
  return r.body.tasks;
}

export function runnerPath(s: Pick<ApiTarget, 'clusterId'>, taskId: string, action: string): string {
  return `/2/clusters/${s.clusterId}/runner/tasks/${taskId}/${action}`;
}

/** A runner's log append: `body` at `offset` of the reservation's output; the answer as it came. */
export function appendLog(s: ApiTarget, taskId: string, reservationId: string, offset: number, body: string | Buffer): Promise<Res> {
  return call(s.url, 'POST', `${runnerPath(s, taskId, 'log')}?offset=${offset}&reservation_id=${reservationId}`, {
    token: s.clusterToken,
    body,
    type: 'application/octet-stream',
  });
}

export async function getTask(s: ApiTarget, id: string): Promise<Record<string, unknown>> {
  const r = await call(s.url, 'GET', `/2/projects/${s.projectId}/tasks/${id}`, { token: s.projectToken });
  if (r.status !== 200) throw new Error(`get task failed: ${r.status} ${r.text}`);
  return r.body;
}
