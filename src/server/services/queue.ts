// Queueing: tasks in (batch, webhook, retry), read, listed, cancelled, their progress and their log
// for users. Every change that may let a task run tells Readiness.
import type { Readable } from 'node:stream';
import { isFinalStatus } from '../../protocol/statuses.js';
import { conflict, notFound } from '../http/errors.js';
import type { NewTask, Page, Task, TaskStatus } from '../store/records.js';
import type { TaskLookups } from '../task-create-input.js';
import type { ServicesCore } from './core.js';
import { retryOf } from './task-rules.js';

/** Where queued tasks came from (the `source` label of iron_tasks_queued_total). */
export type QueueSource = 'api' | 'webhook';

export interface TaskQuery extends Page {
  readonly statuses: readonly TaskStatus[];
  readonly codeName?: string;
  readonly label?: string;
  /** A cluster id or name; a cluster the project may not use matches no task. */
  readonly cluster?: string;
  readonly fromTime?: number;
  readonly toTime?: number;
}

/** A task's log as it is now: its size, and its bytes up to that size. */
export interface TaskLog {
  readonly size: number;
  readonly stream: () => Readable;
}

export class TaskQueue {
  constructor(private readonly core: ServicesCore) {}

  private get tasks(): ServicesCore['store']['tasks'] {
    return this.core.store.tasks;
  }

  /** What task creation input validation looks up (src/server/task-create-input.ts). */
  get lookups(): TaskLookups {
    return this.core.lookups;
  }

  async queue(list: readonly NewTask[], source: QueueSource, signal: AbortSignal): Promise<Task[]> {
    const tasks = await this.tasks.queueTasks(list, Date.now(), signal);
    this.core.metrics.tasksQueued.inc({ source }, tasks.length);
    this.core.readiness.queued(tasks);
    return tasks;
  }

  async get(projectId: string, id: string, signal: AbortSignal): Promise<Task> {
    const t = await this.tasks.getTask(projectId, id, signal);
    if (t === undefined) throw notFound('Task not found');
    return t;
  }

  async list(projectId: string, q: TaskQuery, signal: AbortSignal): Promise<Task[]> {
    const { cluster, ...filter } = q;
    let clusterId: string | undefined;
    if (cluster !== undefined) {
      const c = await this.core.access.findUsable(projectId, cluster, signal);
      if (c === undefined) return [];
      clusterId = c.id;
    }
    return this.tasks.listTasks({ projectId, ...filter, ...(clusterId !== undefined ? { clusterId } : {}) }, signal);
  }

  /** 404 until the first byte exists: iron_go3 and the node client retry on it. */
  async log(projectId: string, id: string, signal: AbortSignal): Promise<TaskLog> {
    const t = await this.get(projectId, id, signal);
    const size = await this.core.logs.size(t.id);
    if (size === undefined) throw notFound('Log not found');
    // The log may grow while it is read (live tasks): exactly the bytes that existed now.
    return { size, stream: () => this.core.logs.stream(t.id, size) };
  }

  async cancel(projectId: string, id: string, signal: AbortSignal): Promise<void> {
    const before = await this.tasks.getTask(projectId, id, signal);
    if (before === undefined) throw notFound('Task not found');
    const after = await this.tasks.cancelTask(projectId, before.id, Date.now(), signal);
    if (after?.status !== 'cancelled') throw conflict(`task already finished (${after?.status ?? before.status})`);
    if (before.status !== 'queued') await this.core.readiness.slotFreed(projectId, before.codeId, signal);
  }

  /** A manual retry: a new task (new id) with the same code, payload and options, after `delay` seconds. */
  async retry(projectId: string, id: string, delay: number, signal: AbortSignal): Promise<Task> {
    const t = await this.tasks.getTask(projectId, id, signal);
    if (t === undefined) throw notFound('Task not found');
    // A final status never changes again, so this check holds until the retry is written.
    if (!isFinalStatus(t.status)) throw conflict('only a finished task can be retried');
    const next = await this.tasks.queueRetry(t.id, retryOf(t, delay), Date.now(), signal);
    this.core.readiness.queued([next]);
    this.core.metrics.tasksQueued.inc({ source: 'retry' });
    return next;
  }

  async progress(projectId: string, id: string, percent: number | null, msg: string | null, signal: AbortSignal): Promise<void> {
    if (!(await this.tasks.setProgress(projectId, id, percent, msg, Date.now(), signal))) throw notFound('Task not found');
  }
}
