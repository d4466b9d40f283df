// The records iron-api keeps: what the store ports (ports.ts) take and return. Plain data, no
// behaviour: the rules over them live in src/server/services/.
import type { ConflictReason } from '../../protocol/reasons.js';
import type { FinishStatus, TaskStatus } from '../../protocol/statuses.js';

export type { FinishStatus, TaskStatus };

export interface Project {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
}

export type TokenScope = { readonly kind: 'project'; readonly projectId: string } | { readonly kind: 'cluster'; readonly clusterId: string };

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
  /** Bytes: the most memory the task's container held, as its runner measured it; null when unknown. */
  readonly peakMemory: number | null;
  /** CPU seconds of the task's container; null when unknown. */
  readonly cpuSeconds: number | null;
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

/** A task just reserved: its row, the revision it runs, and the reservation that now holds it. */
export interface Reservation {
  readonly task: Task;
  readonly revision: CodeRevision;
  readonly reservationId: string;
  readonly leaseExpiresAt: number;
}

export interface FinishInput {
  readonly reservationId: string;
  readonly status: FinishStatus;
  readonly exitCode: number | null;
  readonly msg: string;
  readonly durationMs: number | null;
  readonly logSize: number | null;
  /** The runner cut the task's output at its own limit. */
  readonly logTruncated?: boolean;
  /** What the container used (peak memory bytes, CPU seconds), when the runner measured it. */
  readonly usage?: TaskUsage;
}

export interface TaskUsage {
  readonly peakMemory: number;
  readonly cpuSeconds: number;
}

/** What one runner instance last reported in its heartbeat (docs/protocol.md, `runner`). */
export interface InstanceReport {
  readonly clusterId: string;
  readonly instanceId: string;
  readonly hostname: string;
  readonly version: string;
  readonly slotsTotal: number;
  readonly slotsBusy: number;
  readonly draining: boolean;
  readonly engineVersion: string;
  /** Ms since the epoch; null when the runner sent a time that does not parse. */
  readonly startedAt: number | null;
}

/** A runner instance as the store keeps it: its last report, when it was first and last seen. */
export interface RunnerInstance extends InstanceReport {
  readonly createdAt: number;
  readonly lastSeenAt: number;
}

export type RunnerOutcome<T = Task> = { readonly ok: true; readonly task: T } | { readonly ok: false; readonly reason: 'not_found' | ConflictReason };

/** A code's retry settings (IronWorker's `retries`, `retries_delay` seconds). */
export interface RetrySettings {
  readonly retries: number;
  readonly retriesDelay: number;
}

/** What a lease that ran out does: end a user cancel's wait, queue the task again, or end it `error`. */
export type LeaseLostAction = 'release_cancel' | 'requeue' | 'fail';

/** What a runner's start does: run the task, confirm a start already made, or refuse (409 reason). */
export type StartPlan = 'start' | 'running' | 'superseded' | 'cancelled';

/** What a runner's finish does to the task its reservation names. */
export type FinishPlan =
  | { readonly kind: 'superseded' }
  /** Already ended (a repeated finish): nothing changes. */
  | { readonly kind: 'repeat' }
  /** The user's cancel already decided the status: record how the container ended and close the lease. */
  | { readonly kind: 'close_cancel'; readonly markTruncated: boolean; readonly exitCode: number | null; readonly duration: number | null; readonly logSize: number }
  /** Given back: queued again at once, reservation cleared. */
  | { readonly kind: 'requeue'; readonly markTruncated: boolean }
  | {
      readonly kind: 'end';
      readonly markTruncated: boolean;
      readonly status: Exclude<FinishStatus, 'requeue'>;
      readonly msg: string;
      readonly exitCode: number | null;
      readonly duration: number | null;
      readonly logSize: number;
    };

/** Expired leases, by what was done to their tasks. */
export interface ExpiredLeases {
  readonly requeued: number;
  readonly lost: number;
  readonly ready: ReadyCount[];
}

export interface HeartbeatResult {
  readonly cancel: string[];
  readonly lost: string[];
}

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

export interface Credential {
  readonly serverAddress: string;
  readonly auth: Readonly<Record<string, string>>;
}

/** Tasks that just became reservable in a cluster: that many parked reserves are worth waking. */
export interface ReadyCount {
  readonly clusterId: string;
  readonly count: number;
}

export interface QueueDepthRow {
  readonly clusterId: string;
  readonly priority: number;
  readonly count: number;
}

export interface Page {
  readonly page: number;
  readonly perPage: number;
}
