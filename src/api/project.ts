// The project-scoped IronWorker v2 API (/2/projects/{pid}/...): codes, tasks, schedules, docker
// credentials. Thin and typed: one method per endpoint, shapes in types.ts.
import { IronError } from '../errors.js';
import type { HttpClient } from './http.js';
import { codeUploadBody } from './multipart.js';
import type { RetryPolicy } from './retry.js';
import type { CodeInfo, CodeSpec, DockerCredentials, MsgResponse, Page, ProjectInfo, ScheduleInfo, ScheduleSpec, TaskFilter, TaskInfo, TaskSpec } from './types.js';

export interface CallOptions {
  readonly retry?: RetryPolicy;
}

const seg = encodeURIComponent;

function ids(res: { tasks?: unknown } | { schedules?: unknown }, key: 'tasks' | 'schedules', what: string): string[] {
  const list = (res as Record<string, unknown>)[key];
  if (!Array.isArray(list) || list.some((t) => typeof (t as { id?: unknown } | null)?.id !== 'string')) {
    throw new IronError('ERR_API_RESPONSE', `the API's answer to ${what} has no ${key}[].id list`);
  }
  return list.map((t: { id: string }) => t.id);
}

export class ProjectApi {
  constructor(
    private readonly http: HttpClient,
    readonly projectId: string,
  ) {}

  private p(path: string): string {
    return `/2/projects/${seg(this.projectId)}${path}`;
  }

  private retry(o: CallOptions | undefined): { retry?: RetryPolicy } {
    return o?.retry === undefined ? {} : { retry: o.retry };
  }

  getProject(signal: AbortSignal, o?: CallOptions): Promise<ProjectInfo> {
    return this.http.json<ProjectInfo>({ method: 'GET', path: this.p(''), ...this.retry(o) }, signal);
  }

  /**
   * Registers a docker image as a code (a new revision if the name exists), multipart like ironcli;
   * with `zip`, the code package goes along as the `file` part (`iron worker upload --zip`).
   */
  async registerCode(code: CodeSpec, signal: AbortSignal, o?: CallOptions & { json?: boolean; zip?: Buffer }): Promise<CodeInfo> {
    const req =
      o?.json === true && o.zip === undefined
        ? { json: code }
        : (() => {
            const m = codeUploadBody(code, o?.zip);
            return { body: m.body, contentType: m.contentType };
          })();
    const res = await this.http.json<Partial<CodeInfo>>({ method: 'POST', path: this.p('/codes'), ...req, ...this.retry(o) }, signal);
    if (typeof res.id !== 'string') throw new IronError('ERR_API_RESPONSE', 'the API did not return the registered code id');
    return { ...res, id: res.id, name: typeof res.name === 'string' ? res.name : code.name };
  }

  async listCodes(signal: AbortSignal, page: Page = {}, o?: CallOptions): Promise<CodeInfo[]> {
    const res = await this.http.json<{ codes?: CodeInfo[] }>(
      {
        method: 'GET',
        path: this.p('/codes'),
        query: { page: page.page, per_page: page.perPage },
        ...this.retry(o),
      },
      signal,
    );
    return res.codes ?? [];
  }

  getCode(id: string, signal: AbortSignal, o?: CallOptions): Promise<CodeInfo> {
    return this.http.json<CodeInfo>({ method: 'GET', path: this.p(`/codes/${seg(id)}`), ...this.retry(o) }, signal);
  }

  deleteCode(id: string, signal: AbortSignal, o?: CallOptions): Promise<MsgResponse> {
    return this.http.json<MsgResponse>({ method: 'DELETE', path: this.p(`/codes/${seg(id)}`), ...this.retry(o) }, signal);
  }

  /** Queues a batch; returns the new task ids in request order. */
  async queueTasks(tasks: readonly TaskSpec[], signal: AbortSignal, o?: CallOptions): Promise<string[]> {
    const res = await this.http.json<{ tasks?: unknown }>(
      {
        method: 'POST',
        path: this.p('/tasks'),
        json: { tasks },
        idempotent: false,
        ...this.retry(o),
      },
      signal,
    );
    const out = ids(res, 'tasks', 'queue');
    if (out.length !== tasks.length) throw new IronError('ERR_API_RESPONSE', `queued ${tasks.length} tasks but the API returned ${out.length} ids`);
    return out;
  }

  getTask(id: string, signal: AbortSignal, o?: CallOptions): Promise<TaskInfo> {
    return this.http.json<TaskInfo>({ method: 'GET', path: this.p(`/tasks/${seg(id)}`), ...this.retry(o) }, signal);
  }

  async listTasks(filter: TaskFilter, signal: AbortSignal, o?: CallOptions): Promise<TaskInfo[]> {
    const query: Record<string, string | number | undefined> = {
      code_name: filter.codeName,
      cluster: filter.cluster,
      label: filter.label,
      from_time: filter.fromTime,
      to_time: filter.toTime,
      page: filter.page,
      per_page: filter.perPage,
    };
    for (const s of filter.statuses ?? []) query[s] = 1;
    const res = await this.http.json<{ tasks?: TaskInfo[] }>({ method: 'GET', path: this.p('/tasks'), query, ...this.retry(o) }, signal);
    return res.tasks ?? [];
  }

  /** The task's log so far (text/plain). A task without a log yet answers ERR_API_NOT_FOUND. */
  async getTaskLog(id: string, signal: AbortSignal, o?: CallOptions): Promise<Buffer> {
    const res = await this.http.send({ method: 'GET', path: this.p(`/tasks/${seg(id)}/log`), ...this.retry(o) }, signal);
    return res.body;
  }

  cancelTask(id: string, signal: AbortSignal, o?: CallOptions): Promise<MsgResponse> {
    return this.http.json<MsgResponse>({ method: 'POST', path: this.p(`/tasks/${seg(id)}/cancel`), json: {}, idempotent: true, ...this.retry(o) }, signal);
  }

  /** Queues a copy of a finished task; returns the new task's id. */
  async retryTask(id: string, delaySeconds: number, signal: AbortSignal, o?: CallOptions): Promise<string> {
    const res = await this.http.json<{ tasks?: unknown }>(
      {
        method: 'POST',
        path: this.p(`/tasks/${seg(id)}/retry`),
        json: { delay: delaySeconds },
        idempotent: false,
        ...this.retry(o),
      },
      signal,
    );
    const [first] = ids(res, 'tasks', 'retry');
    if (first === undefined) throw new IronError('ERR_API_RESPONSE', 'the API did not return the retried task id');
    return first;
  }

  setProgress(id: string, progress: { percent: number; msg: string }, signal: AbortSignal, o?: CallOptions): Promise<MsgResponse> {
    return this.http.json<MsgResponse>({ method: 'POST', path: this.p(`/tasks/${seg(id)}/progress`), json: progress, idempotent: true, ...this.retry(o) }, signal);
  }

  async createSchedules(schedules: readonly ScheduleSpec[], signal: AbortSignal, o?: CallOptions): Promise<string[]> {
    const res = await this.http.json<{ schedules?: unknown }>(
      {
        method: 'POST',
        path: this.p('/schedules'),
        json: { schedules },
        idempotent: false,
        ...this.retry(o),
      },
      signal,
    );
    return ids(res, 'schedules', 'schedule');
  }

  async listSchedules(signal: AbortSignal, page: Page = {}, o?: CallOptions): Promise<ScheduleInfo[]> {
    const res = await this.http.json<{ schedules?: ScheduleInfo[] }>(
      {
        method: 'GET',
        path: this.p('/schedules'),
        query: { page: page.page, per_page: page.perPage },
        ...this.retry(o),
      },
      signal,
    );
    return res.schedules ?? [];
  }

  getSchedule(id: string, signal: AbortSignal, o?: CallOptions): Promise<ScheduleInfo> {
    return this.http.json<ScheduleInfo>({ method: 'GET', path: this.p(`/schedules/${seg(id)}`), ...this.retry(o) }, signal);
  }

  cancelSchedule(id: string, signal: AbortSignal, o?: CallOptions): Promise<MsgResponse> {
    return this.http.json<MsgResponse>({ method: 'POST', path: this.p(`/schedules/${seg(id)}/cancel`), json: {}, idempotent: true, ...this.retry(o) }, signal);
  }

  /** Stores registry credentials for pulling private images (ironcli's `iron docker login` body). */
  dockerLogin(creds: DockerCredentials, signal: AbortSignal, o?: CallOptions): Promise<MsgResponse> {
    const auth = Buffer.from(
      JSON.stringify({
        email: creds.email ?? '',
        username: creds.username,
        password: creds.password,
        serveraddress: creds.serveraddress ?? '',
      }),
    ).toString('base64');
    return this.http.json<MsgResponse>({ method: 'POST', path: this.p('/credentials'), json: { auth }, idempotent: true, ...this.retry(o) }, signal);
  }
}
