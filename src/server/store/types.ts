// The store port: every durable state change of iron-api goes through this interface, so the SQLite
// implementation (embedded default) and a later PostgreSQL one are interchangeable. Each method is
// one transaction; methods are async so a networked database fits the same shape.

export const TASK_STATUSES = ['queued', 'preparing', 'running', 'complete', 'error', 'cancelled', 'timeout', 'killed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
/** Statuses a runner may report in finish (plus `requeue`, which is not a status). */
export type FinishStatus = 'complete' | 'error' | 'cancelled' | 'timeout' | 'killed' | 'requeue';

export interface Project { readonly id: string; readonly name: string; readonly createdAt: number }

export type TokenScope =
  | { readonly kind: 'project'; readonly projectId: string }
  | { readonly kind: 'cluster'; readonly clusterId: string };

export interface Cluster {
  readonly id: string;
  readonly name: string;
  /** The project whose token created it (Iron's `user_id`). */
  readonly ownerProjectId: string;
  readonly memory: number;
  readonly diskSpace: number;
  readonly cpuShare: number | null;
  /** Opaque JSON object kept for clients that read `autoscale` (quasi-autoscaler). */
  readonly autoscale: Record<string, unknown>;
  readonly isDefault: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface CodeFields {
  readonly image: string;
  readonly command: string;
  readonly envVars: Readonly<Record<string, string>>;
  readonly config: string;
  readonly runtime: string;
  readonly fileName: string;
  readonly checksum: string;
  readonly codeSize: number;
  /** sha256 (hex) of the zip; '' for image-only revisions (and zips stored before it was recorded). */
  readonly sha256: string;
}

export interface Code extends CodeFields {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly rev: number;
  readonly historyId: string;
  readonly defaultPriority: number | null;
  readonly maxConcurrency: number | null;
  readonly retries: number;
  readonly retriesDelay: number;
  readonly paused: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface CodeRevision extends CodeFields {
  readonly id: string;
  readonly codeId: string;
  readonly projectId: string;
  readonly name: string;
  readonly rev: number;
  readonly createdAt: number;
}

export interface CodeInput extends CodeFields {
  readonly projectId: string;
  readonly name: string;
  readonly defaultPriority: number | null;
  readonly maxConcurrency: number | null;
  readonly retries: number;
  readonly retriesDelay: number;
}

export interface Task {
  readonly id: string;
  readonly projectId: string;
  readonly codeId: string;
  readonly codeName: string;
  readonly codeHistoryId: string;
  readonly codeRev: number;
  readonly clusterId: string;
  readonly status: TaskStatus;
  readonly priority: number;
  readonly timeout: number;
  readonly delay: number;
  readonly payload: string;
  readonly label: string;
  readonly msg: string;
  readonly percent: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly availableAt: number;
  readonly startTime: number | null;
  readonly endTime: number | null;
  readonly duration: number | null;
  readonly exitCode: number | null;
  /** Reservations so far (1 on the first reservation). */
  readonly attempt: number;
  /** Lease expiries so far (counts toward the max attempts; `requeue` does not). */
  readonly lostCount: number;
  readonly reservationId: string | null;
  readonly instanceId: string | null;
  readonly leaseExpiresAt: number | null;
  /** Cancelled by the user while a runner holds it: the runner is told on its next heartbeat. */
  readonly cancelPending: boolean;
  readonly retryCount: number;
  readonly retryOf: string | null;
  readonly retryTaskId: string | null;
  readonly scheduleId: string | null;
  readonly logSize: number;
  /** The log was cut (the runner's MAX_LOG_SIZE or the API's MAX_TASK_LOG_SIZE): a field, never a line. */
  readonly logTruncated: boolean;
}

export interface NewTask {
  readonly projectId: string;
  readonly codeId: string;
  readonly clusterId: string;
  readonly priority: number;
  readonly timeout: number;
  readonly delay: number;
  readonly payload: string;
  readonly label: string;
  readonly scheduleId?: string | null;
  readonly retryOf?: string | null;
  readonly retryCount?: number;
}

export interface TaskFilter {
  readonly projectId: string;
  readonly codeName?: string;
  readonly statuses?: readonly TaskStatus[];
  readonly clusterId?: string;
  readonly label?: string;
  readonly fromTime?: number;
  readonly toTime?: number;
  readonly page: number;
  readonly perPage: number;
}

export interface ReservedTask { readonly task: Task; readonly revision: CodeRevision }

export interface FinishInput {
  readonly reservationId: string;
  readonly status: FinishStatus;
  readonly exitCode: number | null;
  readonly msg: string;
  readonly durationMs: number | null;
  readonly logSize: number | null;
  /** The runner cut the task's output at its own limit. */
  readonly logTruncated?: boolean;
}

export type RunnerOutcome<T = Task> =
  | { readonly ok: true; readonly task: T }
  | { readonly ok: false; readonly reason: 'not_found' | 'superseded' | 'cancelled' | 'finished' };

export interface HeartbeatResult { readonly cancel: string[]; readonly lost: string[] }

export interface Schedule {
  readonly id: string;
  readonly projectId: string;
  readonly codeName: string;
  readonly name: string;
  readonly payload: string;
  readonly label: string;
  readonly clusterId: string;
  readonly priority: number | null;
  readonly timeout: number;
  readonly delay: number;
  readonly startAt: number;
  readonly endAt: number | null;
  readonly runEvery: number | null;
  readonly runTimes: number;
  /** At most this many of the schedule's tasks unfinished at once; null = no limit. */
  readonly maxConcurrency: number | null;
  readonly runCount: number;
  /** The schedule's tasks that ended error or timeout (Iron's error_count); computed, not stored. */
  readonly errorCount: number;
  readonly lastRunTime: number | null;
  readonly nextStart: number | null;
  readonly status: 'scheduled' | 'complete' | 'cancelled' | 'error';
  readonly msg: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export type NewSchedule = Omit<Schedule, 'id' | 'runCount' | 'errorCount' | 'lastRunTime' | 'nextStart' | 'status' | 'msg' | 'createdAt' | 'updatedAt'>;

export interface Credential { readonly serverAddress: string; readonly auth: Readonly<Record<string, string>> }

/** Tasks that just became reservable in a cluster: that many parked reserves are worth waking. */
export interface ReadyCount { readonly clusterId: string; readonly count: number }

export interface QueueDepthRow { readonly clusterId: string; readonly priority: number; readonly count: number }

export interface Page { readonly page: number; readonly perPage: number }

export interface Store {
  /** True on a fresh data dir (no project yet): the server bootstraps then. */
  isEmpty(): Promise<boolean>;

  createProject(name: string, now: number): Promise<Project>;
  getProject(id: string): Promise<Project | undefined>;
  /** Tokens are stored as SHA-256 hashes only. */
  addToken(hash: string, scope: TokenScope, now: number): Promise<void>;
  /** The stored hash comes back so the caller can compare it in constant time. */
  findToken(hash: string): Promise<{ scope: TokenScope; hash: string } | undefined>;

  createCluster(input: Omit<Cluster, 'id' | 'createdAt' | 'updatedAt'>, now: number): Promise<Cluster>;
  getCluster(id: string): Promise<Cluster | undefined>;
  /**
   * By id among the project's own clusters and the default cluster, or by name among the project's
   * clusters, or `default` for the install's default cluster. Access is decided by cluster-access.ts.
   */
  resolveCluster(ownerProjectId: string, idOrName: string): Promise<Cluster | undefined>;
  listClusters(ownerProjectId: string, page: Page): Promise<Cluster[]>;
  /** Clusters the project owns (not deleted), for its quota. */
  countClusters(ownerProjectId: string): Promise<number>;
  updateCluster(id: string, patch: Partial<Pick<Cluster, 'name' | 'memory' | 'diskSpace' | 'cpuShare' | 'autoscale'>>, now: number): Promise<Cluster | undefined>;
  /** Refused (false) while the cluster has unfinished tasks. */
  deleteCluster(id: string): Promise<'deleted' | 'not_found' | 'busy'>;
  taskCounts(filter: { clusterId?: string; codeId?: string; since?: number; until?: number }): Promise<Record<TaskStatus, number>>;

  putCredential(projectId: string, cred: Credential, now: number): Promise<void>;
  credentials(projectId: string): Promise<Credential[]>;

  /** Registers a new revision of the code named input.name (creating it on first upload). */
  putCode(input: CodeInput, now: number): Promise<Code>;
  getCode(projectId: string, id: string): Promise<Code | undefined>;
  getCodeByName(projectId: string, name: string): Promise<Code | undefined>;
  listCodes(projectId: string, page: Page): Promise<Code[]>;
  /** Codes of the project (not deleted), for its quota. */
  countCodes(projectId: string): Promise<number>;
  listRevisions(projectId: string, codeId: string, page: Page): Promise<CodeRevision[]>;
  getRevision(revisionId: string): Promise<CodeRevision | undefined>;
  /** Fills in the sha256 of a revision stored without one (never overwrites a recorded one). */
  setRevisionSha256(revisionId: string, sha256: string): Promise<void>;
  deleteCode(projectId: string, id: string, now: number): Promise<boolean>;
  setCodePaused(projectId: string, id: string, paused: boolean, now: number): Promise<boolean>;

  queueTasks(tasks: readonly NewTask[], now: number): Promise<Task[]>;
  getTask(projectId: string, id: string): Promise<Task | undefined>;
  listTasks(filter: TaskFilter): Promise<Task[]>;
  /** Cancels a non-terminal task; a reserved one keeps its reservation until the runner finishes. */
  cancelTask(projectId: string, id: string, now: number): Promise<Task | undefined>;
  cancelAll(projectId: string, codeId: string, now: number): Promise<number>;
  retryTask(projectId: string, id: string, delay: number, now: number): Promise<Task | 'not_found' | 'not_finished'>;
  setProgress(projectId: string, id: string, percent: number | null, msg: string | null, now: number): Promise<boolean>;

  reserve(clusterId: string, instanceId: string, n: number, now: number, leaseMs: number): Promise<ReservedTask[]>;
  heartbeat(clusterId: string, instanceId: string, tasks: readonly { id: string; reservationId: string }[], now: number, leaseMs: number): Promise<HeartbeatResult>;
  startTask(clusterId: string, id: string, reservationId: string, now: number): Promise<RunnerOutcome>;
  finishTask(clusterId: string, id: string, input: FinishInput, now: number): Promise<RunnerOutcome>;
  /** The task (of this cluster) a log chunk belongs to: held by this reservation, not finished. */
  logTarget(clusterId: string, id: string, reservationId: string): Promise<RunnerOutcome>;
  setLogSize(id: string, size: number): Promise<void>;
  markLogTruncated(id: string): Promise<void>;
  /** Requeues or ends (`error` "runner lost") every task whose lease ended before now. */
  expireLeases(now: number, maxAttempts: number): Promise<{ requeued: number; lost: number; ready: ReadyCount[] }>;
  /** Delayed tasks whose time came become reservable; returns how many, per cluster. */
  promoteDue(now: number): Promise<ReadyCount[]>;
  /** Clusters holding reservable tasks of the code (a freed concurrency slot, a resumed queue). */
  readyClustersOf(codeId: string): Promise<ReadyCount[]>;
  /** Earliest future moment something becomes due: a delayed task, a lease end, a schedule run. */
  nextDeadline(now: number): Promise<number | null>;
  queueDepth(now: number): Promise<QueueDepthRow[]>;

  createSchedules(schedules: readonly NewSchedule[], now: number): Promise<Schedule[]>;
  getSchedule(projectId: string, id: string): Promise<Schedule | undefined>;
  listSchedules(projectId: string, page: Page): Promise<Schedule[]>;
  cancelSchedule(projectId: string, id: string, now: number): Promise<boolean>;
  /** Replaces a scheduled (not yet finished) schedule's fields; its runs so far are kept. */
  updateSchedule(projectId: string, id: string, fields: NewSchedule, now: number): Promise<Schedule | 'not_found' | 'finished'>;
  countActiveSchedules(projectId: string): Promise<number>;
  /** Queues one task for every due schedule and advances it; returns how many were queued, and where. */
  runDueSchedules(now: number): Promise<{ queued: number; ready: ReadyCount[] }>;

  close(): Promise<void>;
}
