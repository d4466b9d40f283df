// Wire shapes of the runner protocol (docs/protocol.md), field for field, as iron-api sends and
// accepts them: iron-api builds its answers from these types and src/api/ reads them. snake_case:
// these are JSON bodies, not the server's model.
import type { FinishStatus, TaskStatus } from './statuses.js';

export interface RunnerCluster {
  readonly id: string;
  readonly name: string;
  /** Per-task defaults the runner applies (bytes / relative weight). */
  readonly memory?: number;
  readonly disk_space?: number;
  readonly cpu_share?: number;
  readonly [extra: string]: unknown;
}

export interface ReserveRequest {
  readonly instance_id: string;
  /** How many tasks the runner can take now (its free slots). */
  readonly n: number;
  /** Long-poll seconds (≤ MAX_RESERVE_WAIT_S). */
  readonly wait: number;
  /** Image warm-up cursor from the last answer ('' on the first call); omitted: no warm-ups. */
  readonly warm_cursor?: string;
}

/** An image to pull ahead of its first task, with the credentials and scope that task will have. */
export interface WarmImage {
  readonly image: string;
  readonly project_id: string;
  readonly docker_auth?: unknown;
}

export interface ReservedTask {
  readonly id: string;
  readonly project_id: string;
  readonly code_name: string;
  readonly image: string;
  readonly command: string;
  readonly env_vars: Readonly<Record<string, string>>;
  readonly config: string;
  /** Ciphertext on encrypted clusters; the runner decrypts it. */
  readonly payload: string;
  /** Seconds. */
  readonly timeout: number;
  readonly priority: number;
  /** Bytes. */
  readonly memory: number;
  /** Bytes. */
  readonly disk: number;
  /** Registry auth for private images (opaque to the client). */
  readonly docker_auth?: unknown;
  readonly reservation_id: string;
  readonly lease_expires_at: string;
  readonly attempt: number;
  /** Extras iron-api also sends (informational). */
  readonly code_id?: string;
  readonly code_history_id?: string;
  readonly code_rev?: string;
  readonly cluster?: string;
  readonly cpu_share?: number;
  /** Present when the task's code revision has a zip: fetch it with RunnerApi.downloadCode. */
  readonly code_package?: CodePackageRef;
}

/** What a reserved task says about its code package; never the bytes. */
export interface CodePackageRef {
  /** The code revision the task was queued with. */
  readonly rev: string;
  readonly size: number;
  /** Hex sha256 of the zip; the runner refuses bytes that do not match. */
  readonly sha256: string;
}

/** The warm-up part of a reserve or heartbeat answer, as the client hands it on (`warm` always a list). */
export interface WarmAnswer {
  readonly warm: readonly WarmImage[];
  readonly warm_cursor?: string;
}

/** Sent only when the request carried `warm_cursor`: older runners never see these fields. */
export interface WarmFields {
  readonly warm?: readonly WarmImage[];
  readonly warm_cursor?: string;
}

export interface ReserveResponse extends WarmFields {
  readonly tasks: readonly ReservedTask[];
  readonly heartbeat_interval_ms: number;
  /** The interval of a runner holding no task (older servers send none: keep heartbeat_interval_ms). */
  readonly idle_heartbeat_interval_ms?: number;
  /**
   * The most log bytes a finish-with-log of these tasks may carry as `log_tail`; older servers send
   * none (they have no finish-with-log), and then every byte goes by log append.
   */
  readonly finish_log_max_bytes?: number;
}

export interface ReleaseRequest {
  readonly instance_id: string;
}

export interface ReleaseResponse {
  readonly msg: 'Released';
  /** Parked reserves of that instance that were ended. */
  readonly released: number;
}

export interface HeartbeatTaskRef {
  readonly id: string;
  readonly reservation_id: string;
}

/**
 * What a runner says about itself in every heartbeat (idle runners beat too), so iron-api knows its
 * fleet: `GET /2/clusters/{id}/stats` lists these, `runners_total` / `runners_available` count slots.
 */
export interface RunnerReport {
  readonly hostname: string;
  /** iron-runner's version. */
  readonly version: string;
  readonly slots_total: number;
  readonly slots_busy: number;
  readonly draining: boolean;
  /** The container engine's version ('' when it did not answer). */
  readonly engine_version: string;
  /** RFC 3339: when this runner process started. */
  readonly started_at: string;
}

export interface HeartbeatRequest {
  readonly instance_id: string;
  readonly tasks: readonly HeartbeatTaskRef[];
  /** As in reserve: a busy runner (no reserve calls) still learns of images to warm. */
  readonly warm_cursor?: string;
  /** Optional (older runners send none): the runner's self-report. */
  readonly runner?: RunnerReport;
}

export interface HeartbeatResponse extends WarmFields {
  /** Task ids the user cancelled: stop them. */
  readonly cancel: readonly string[];
  /** Task ids whose lease is no longer ours: kill them, never report them. */
  readonly lost: readonly string[];
  /** The renewed lease deadline and the interval to keep, when the server sends them. */
  readonly lease_expires_at?: string;
  readonly heartbeat_interval_ms?: number;
  readonly idle_heartbeat_interval_ms?: number;
}

export interface StartRequest {
  readonly reservation_id: string;
}

export interface StartResponse {
  readonly msg: 'Started';
  readonly status: TaskStatus;
}

/** The query of a log append (the body is the raw chunk). Query values are strings on the wire. */
export interface LogAppendQuery {
  /** Byte offset in this reservation's output, 1 to MAX_LOG_OFFSET_DIGITS decimal digits. */
  readonly offset: string;
  readonly reservation_id: string;
}

export interface LogAppendResponse {
  /** The server's log size after the append. */
  readonly size: number;
}

export interface FinishRequest {
  readonly reservation_id: string;
  readonly status: FinishStatus;
  readonly exit_code?: number | null;
  readonly msg?: string;
  readonly duration_ms?: number;
  readonly log_size?: number;
  /** The log was cut (the runner's MAX_LOG_SIZE or the API's cap): stored on the task as a field. */
  readonly log_truncated?: boolean;
  /** What the task's container used, when the runner could measure it. */
  readonly usage?: TaskUsage;
}

/**
 * A finish that carries the last bytes of the output (POST .../tasks/{id}/finish-with-log, only up to
 * the reserve answer's `finish_log_max_bytes`): they are appended as a log append at `offset` would
 * be, then the task ends. An offset that is not the stored size is refused like a log append's (409
 * with `size`), and the task is not finished. A path of its own, not a field of the finish: a replica
 * that predates it answers 404 instead of finishing the task and dropping the bytes.
 */
export interface FinishWithLogRequest extends FinishRequest {
  readonly log_tail: FinishLogTail;
}

export interface FinishLogTail {
  /** Where the bytes start in this reservation's output. */
  readonly offset: number;
  /** The bytes, base64. */
  readonly data: string;
}

/** A task's resource use, measured from its container's cgroup by the engine. */
export interface TaskUsage {
  /** Bytes: the most memory the container's cgroup held. */
  readonly peak_memory: number;
  /** CPU time (user + system) of the container, seconds. */
  readonly cpu_seconds: number;
}

export interface FinishResponse {
  readonly msg: 'Finished';
  /** The task's status now (a finish on a task the user cancelled leaves it `cancelled`). */
  readonly status: TaskStatus;
}
