// Wire shapes of the public IronWorker v2 project API, as the server sends and accepts them
// (snake_case on purpose: these are JSON bodies, not our internal model).

import { FINAL_STATUSES as FINAL_LIST } from '../protocol/statuses.js';

export { TASK_STATUSES, type TaskStatus } from '../protocol/statuses.js';
/** Statuses after which a task never changes again (src/protocol/statuses.ts), as a set to look up. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(FINAL_LIST);

export interface ProjectInfo {
  readonly id?: string;
  readonly name: string;
  readonly [extra: string]: unknown;
}

/** What `iron register` sends (the `data` part of POST /codes). */
export interface CodeSpec {
  readonly name: string;
  readonly image: string;
  readonly command?: string;
  readonly config?: string;
  readonly env_vars?: Readonly<Record<string, string>> | null;
  readonly max_concurrency?: number;
  readonly retries?: number;
  readonly retries_delay?: number;
  readonly default_priority?: number;
}

export interface CodeInfo {
  readonly id: string;
  readonly project_id?: string;
  readonly name: string;
  readonly image?: string;
  readonly command?: string;
  readonly rev?: number;
  readonly created_at?: string;
  readonly [extra: string]: unknown;
}

/** One task of a POST /tasks batch. */
export interface TaskSpec {
  readonly code_name: string;
  readonly payload: string;
  readonly cluster?: string;
  readonly priority?: number;
  readonly timeout?: number;
  readonly delay?: number;
  readonly label?: string;
}

export interface TaskInfo {
  readonly id: string;
  readonly project_id?: string;
  readonly code_id?: string;
  readonly code_name: string;
  readonly status: string;
  readonly msg?: string;
  readonly cluster?: string;
  readonly label?: string;
  readonly priority?: number;
  readonly timeout?: number;
  readonly duration?: number;
  readonly percent?: number;
  readonly log_size?: number;
  /** The API's field for a cut log (never a line inside the log). */
  readonly log_truncated?: boolean;
  /** Bytes: the most memory the task's container held (absent: not measured). */
  readonly peak_memory?: number;
  /** CPU seconds the task's container used (absent: not measured). */
  readonly cpu_seconds?: number;
  readonly retry_count?: number | string;
  readonly created_at?: string;
  readonly updated_at?: string;
  readonly start_time?: string;
  readonly end_time?: string;
  readonly payload?: string;
  readonly [extra: string]: unknown;
}

export interface TaskFilter {
  readonly codeName?: string;
  /** OR-combined; empty = all statuses. */
  readonly statuses?: readonly string[];
  readonly cluster?: string;
  readonly label?: string;
  readonly fromTime?: number;
  readonly toTime?: number;
  readonly page?: number;
  readonly perPage?: number;
}

export interface ScheduleSpec {
  readonly code_name: string;
  readonly payload: string;
  readonly name?: string;
  readonly start_at?: string;
  readonly end_at?: string;
  readonly run_every?: number;
  readonly run_times?: number;
  readonly priority?: number;
  readonly timeout?: number;
  readonly delay?: number;
  readonly cluster?: string;
  readonly label?: string;
  readonly max_concurrency?: number;
}

export interface ScheduleInfo {
  readonly id: string;
  readonly code_name: string;
  readonly status?: string;
  readonly run_every?: number;
  readonly run_times?: number;
  readonly run_count?: number;
  readonly next_start?: string;
  readonly start_at?: string;
  readonly cluster?: string;
  readonly [extra: string]: unknown;
}

export interface ClusterSpec {
  readonly name: string;
  /** Bytes per task. */
  readonly memory?: number;
  /** Bytes per task. */
  readonly disk?: number;
  readonly cpu_share?: number;
}

export interface ClusterInfo {
  readonly id: string;
  readonly name: string;
  readonly memory?: number;
  readonly disk_space?: number;
  readonly cpu_share?: number;
  readonly user_id?: string;
  readonly [extra: string]: unknown;
}

/** One runner instance in a cluster's stats (docs/protocol.md, contract of GET /2/clusters/{id}/stats). */
export interface ClusterInstanceInfo {
  readonly instance_id: string;
  readonly hostname?: string;
  readonly version?: string;
  readonly state?: string;
  readonly runners_total?: number;
  readonly runners_available?: number;
  readonly slots_busy?: number;
  readonly draining?: boolean;
  readonly engine_version?: string;
  readonly started_at?: string | null;
  readonly last_seen_at?: string;
  readonly [extra: string]: unknown;
}

export interface ClusterStats {
  readonly ewma?: number;
  readonly queued?: number;
  readonly running?: number;
  readonly runners_total?: number;
  readonly runners_available?: number;
  readonly instances: readonly ClusterInstanceInfo[];
  readonly [extra: string]: unknown;
}

export interface DockerCredentials {
  readonly username: string;
  readonly password: string;
  readonly email?: string;
  readonly serveraddress?: string;
}

export interface Page {
  readonly page?: number;
  readonly perPage?: number;
}

export interface MsgResponse {
  readonly msg?: string;
  readonly [extra: string]: unknown;
}
