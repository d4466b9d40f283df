// The store ports: every durable state change of iron-api goes through one of these interfaces, one
// per aggregate, so the embedded SQLite implementation (sqlite/) and a networked one (PostgreSQL)
// are interchangeable. Each method is one transaction. Every method takes an AbortSignal: a network
// store cancels the query (or the wait for a connection) with it; SQLite runs each transaction
// synchronously on the event-loop thread and has nothing to cancel once it started.
// The rules the transactions apply (start, finish, retries, lease expiry, what a runner holds) are passed in
// as TaskRules by src/server/services/, so the store holds the SQL and none of the policy.
import type {
  Cluster,
  Code,
  CodeInput,
  CodeRevision,
  Credential,
  ExpiredLeases,
  FinishInput,
  FinishPlan,
  HeartbeatResult,
  InstanceReport,
  LeaseLostAction,
  NewSchedule,
  NewTask,
  Page,
  Project,
  QueueDepthRow,
  ReadyCount,
  Reservation,
  RetrySettings,
  RunnerInstance,
  RunnerOutcome,
  Schedule,
  StartPlan,
  Task,
  TaskFilter,
  TaskStatus,
  TokenScope,
} from './records.js';

/** The rules a transaction applies to the rows it reads (src/server/services/task-rules.ts). */
export interface TaskRules {
  /** The follow-up task of one that just ended (IronWorker's per-code `retries`), or null. */
  codeRetry(ended: Task, code: RetrySettings): NewTask | null;
  /** What a lease that ran out does to the task that held it. */
  leaseLost(task: Task): LeaseLostAction;
  /** The task is still held by its reservation: heartbeats extend it, its log takes chunks. */
  held(task: Task): boolean;
  /** What a start with this reservation does to the task. */
  start(task: Task, reservationId: string): StartPlan;
  /** What this finish does to the task, at `now`. */
  finish(task: Task, input: FinishInput, now: number): FinishPlan;
}

export type ClusterPatch = Partial<Pick<Cluster, 'name' | 'memory' | 'diskSpace' | 'cpuShare' | 'autoscale'>>;
export type NewCluster = Omit<Cluster, 'id' | 'createdAt' | 'updatedAt'>;
export interface TaskCountFilter {
  readonly clusterId?: string;
  readonly codeId?: string;
  readonly since?: number;
  readonly until?: number;
}

/** Projects, their tokens (stored as SHA-256 hashes only) and their registry credentials. */
export interface AccountStore {
  /** True on a fresh data dir (no project yet): the server bootstraps then. */
  isEmpty(signal: AbortSignal): Promise<boolean>;
  createProject(name: string, now: number, signal: AbortSignal): Promise<Project>;
  /** The bootstrap's project: created only while the store has none, atomically (replicas starting together create one). */
  createFirstProject(name: string, now: number, signal: AbortSignal): Promise<Project | undefined>;
  getProject(id: string, signal: AbortSignal): Promise<Project | undefined>;
  addToken(hash: string, scope: TokenScope, now: number, signal: AbortSignal): Promise<void>;
  /** The stored hash comes back so the caller can compare it in constant time. */
  findToken(hash: string, signal: AbortSignal): Promise<{ scope: TokenScope; hash: string } | undefined>;
  putCredential(projectId: string, cred: Credential, now: number, signal: AbortSignal): Promise<void>;
  credentials(projectId: string, signal: AbortSignal): Promise<Credential[]>;
}

export interface ClusterStore {
  createCluster(input: NewCluster, now: number, signal: AbortSignal): Promise<Cluster>;
  getCluster(id: string, signal: AbortSignal): Promise<Cluster | undefined>;
  /**
   * By id among the project's own clusters and the default cluster, or by name among the project's
   * clusters, or `default` for the install's default cluster. Access is decided by services/cluster-access.ts.
   */
  resolveCluster(ownerProjectId: string, idOrName: string, signal: AbortSignal): Promise<Cluster | undefined>;
  listClusters(ownerProjectId: string, page: Page, signal: AbortSignal): Promise<Cluster[]>;
  /** Clusters the project owns (not deleted), for its quota. */
  countClusters(ownerProjectId: string, signal: AbortSignal): Promise<number>;
  updateCluster(id: string, patch: ClusterPatch, now: number, signal: AbortSignal): Promise<Cluster | undefined>;
  /** Refused (`busy`) while the cluster has unfinished tasks; deleting revokes its tokens. */
  deleteCluster(id: string, signal: AbortSignal): Promise<'deleted' | 'not_found' | 'busy'>;
}

export interface CodeStore {
  /** Registers a new revision of the code named input.name (creating it on first upload). */
  putCode(input: CodeInput, now: number, signal: AbortSignal): Promise<Code>;
  getCode(projectId: string, id: string, signal: AbortSignal): Promise<Code | undefined>;
  getCodeByName(projectId: string, name: string, signal: AbortSignal): Promise<Code | undefined>;
  listCodes(projectId: string, page: Page, signal: AbortSignal): Promise<Code[]>;
  /** Codes of the project (not deleted), for its quota. */
  countCodes(projectId: string, signal: AbortSignal): Promise<number>;
  listRevisions(projectId: string, codeId: string, page: Page, signal: AbortSignal): Promise<CodeRevision[]>;
  getRevision(revisionId: string, signal: AbortSignal): Promise<CodeRevision | undefined>;
  /** Fills in the sha256 of a revision stored without one (never overwrites a recorded one). */
  setRevisionSha256(revisionId: string, sha256: string, signal: AbortSignal): Promise<void>;
  deleteCode(projectId: string, id: string, now: number, signal: AbortSignal): Promise<boolean>;
  setCodePaused(projectId: string, id: string, paused: boolean, now: number, signal: AbortSignal): Promise<boolean>;
}

/** The user side of tasks: queue, read, cancel, retry, progress, and what the queue holds. */
export interface TaskStore {
  queueTasks(tasks: readonly NewTask[], now: number, signal: AbortSignal): Promise<Task[]>;
  /** Queues `next` as the retry of task `of` and links the two, in one transaction. */
  queueRetry(of: string, next: NewTask, now: number, signal: AbortSignal): Promise<Task>;
  getTask(projectId: string, id: string, signal: AbortSignal): Promise<Task | undefined>;
  listTasks(filter: TaskFilter, signal: AbortSignal): Promise<Task[]>;
  /** Cancels a non-terminal task; a reserved one keeps its reservation until the runner finishes. */
  cancelTask(projectId: string, id: string, now: number, signal: AbortSignal): Promise<Task | undefined>;
  cancelAll(projectId: string, codeId: string, now: number, signal: AbortSignal): Promise<number>;
  setProgress(projectId: string, id: string, percent: number | null, msg: string | null, now: number, signal: AbortSignal): Promise<boolean>;
  taskCounts(filter: TaskCountFilter, signal: AbortSignal): Promise<Record<TaskStatus, number>>;
  /** Clusters holding reservable tasks of the code (a freed concurrency slot, a resumed queue). */
  readyClustersOf(codeId: string, signal: AbortSignal): Promise<ReadyCount[]>;
  queueDepth(now: number, signal: AbortSignal): Promise<QueueDepthRow[]>;
}

/** The runner side of tasks: reservations and their leases. */
export interface LeaseStore {
  /** Up to `n` tasks of the cluster, best first, each now `preparing` under a new reservation until `leaseExpiresAt`. */
  reserve(clusterId: string, instanceId: string, n: number, now: number, leaseExpiresAt: number, signal: AbortSignal): Promise<Reservation[]>;
  /** Extends to `leaseExpiresAt` the leases of the listed tasks their reservations still hold. */
  heartbeat(clusterId: string, tasks: readonly { id: string; reservationId: string }[], leaseExpiresAt: number, rules: TaskRules, signal: AbortSignal): Promise<HeartbeatResult>;
  startTask(clusterId: string, id: string, reservationId: string, now: number, rules: TaskRules, signal: AbortSignal): Promise<RunnerOutcome>;
  finishTask(clusterId: string, id: string, input: FinishInput, now: number, rules: TaskRules, signal: AbortSignal): Promise<RunnerOutcome>;
  /** The task (of this cluster) a log chunk or code download belongs to: held by this reservation. */
  logTarget(clusterId: string, id: string, reservationId: string, rules: TaskRules, signal: AbortSignal): Promise<RunnerOutcome>;
  setLogSize(id: string, size: number, signal: AbortSignal): Promise<void>;
  markLogTruncated(id: string, signal: AbortSignal): Promise<void>;
  /** Applies `rules.leaseLost` to every task whose lease ended before now. */
  expireLeases(now: number, rules: TaskRules, signal: AbortSignal): Promise<ExpiredLeases>;
}

export interface ScheduleStore {
  createSchedules(schedules: readonly NewSchedule[], now: number, signal: AbortSignal): Promise<Schedule[]>;
  getSchedule(projectId: string, id: string, signal: AbortSignal): Promise<Schedule | undefined>;
  listSchedules(projectId: string, page: Page, signal: AbortSignal): Promise<Schedule[]>;
  cancelSchedule(projectId: string, id: string, now: number, signal: AbortSignal): Promise<boolean>;
  /** Replaces a scheduled (not yet finished) schedule's fields; its runs so far are kept. */
  updateSchedule(projectId: string, id: string, fields: NewSchedule, now: number, signal: AbortSignal): Promise<Schedule | 'not_found' | 'finished'>;
  countActiveSchedules(projectId: string, signal: AbortSignal): Promise<number>;
  /** Queues one task for every due schedule and advances it; returns how many were queued, and where. */
  runDueSchedules(now: number, signal: AbortSignal): Promise<{ queued: number; ready: ReadyCount[] }>;
}

/** One instance's report and when it was heard. */
export interface InstanceSighting {
  readonly report: InstanceReport;
  readonly at: number;
}

/**
 * The runner fleet: what each instance said about itself in its last heartbeat. services/fleet.ts
 * collects the reports of a second and writes them together, so one write per second and replica.
 */
export interface InstanceStore {
  /**
   * Upserts each instance's report, seen at its `at` (keeps the time it was first seen), all or
   * none. An instance (cluster, instance id) appears at most once in the list.
   */
  recordInstances(seen: readonly InstanceSighting[], signal: AbortSignal): Promise<void>;
  /** Instances of these clusters (null: of all clusters) last seen at or after `seenSince`, oldest first. */
  listInstances(clusterIds: readonly string[] | null, seenSince: number, signal: AbortSignal): Promise<RunnerInstance[]>;
  /** Forgets instances last seen before `seenBefore`; returns how many. */
  dropInstances(seenBefore: number, signal: AbortSignal): Promise<number>;
}

/** Time-driven state: what becomes due when (the scheduler's timer). */
export interface DeadlineStore {
  /** Delayed tasks whose time came become reservable; returns how many, per cluster. */
  promoteDue(now: number, signal: AbortSignal): Promise<ReadyCount[]>;
  /** Earliest future moment something becomes due: a delayed task, a lease end, a schedule run. */
  nextDeadline(now: number, signal: AbortSignal): Promise<number | null>;
}

/** Retention: finished tasks past their keep time are deleted, so the tables stay small. */
export interface RetentionStore {
  /**
   * Deletes up to `limit` tasks that ended before `endedBefore` (never a queued or held one) and
   * returns their ids (their logs go next). With several replicas only one purges at a time; the
   * others get [] at once.
   */
  purgeFinished(endedBefore: number, limit: number, signal: AbortSignal): Promise<string[]>;
}

/**
 * Wake-ups between replicas of iron-api sharing one database. services/readiness.ts wakes this
 * process's parked reserves itself and publishes what became reservable here; what other replicas
 * published arrives through subscribe. SQLite has one process: its signal is in-process (publish
 * reaches nobody else). PostgreSQL: NOTIFY on `iron_ready`, coalesced, sent outside transactions.
 */
export interface ReadySignal {
  /** Tells the other replicas that tasks became reservable (batched; never throws). */
  publish(ready: readonly ReadyCount[]): void;
  /** `cb` gets what other replicas published; returns the unsubscribe. */
  subscribe(cb: (ready: readonly ReadyCount[]) => void): () => void;
  /** How often one parked reserve per cluster looks anyway (ms): the backstop for a lost wake-up. */
  readonly backstopMs: number;
}

/** One store: its ports, and the close that ends them all. */
export interface Store {
  readonly accounts: AccountStore;
  readonly clusters: ClusterStore;
  readonly codes: CodeStore;
  readonly tasks: TaskStore;
  readonly leases: LeaseStore;
  readonly schedules: ScheduleStore;
  readonly deadlines: DeadlineStore;
  readonly instances: InstanceStore;
  readonly ready: ReadySignal;
  readonly retention: RetentionStore;
  close(): Promise<void>;
}
