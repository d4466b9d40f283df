// The sandbox's public data shapes: what the runner daemon and `iron-runner exec` hand to runTask
// and what they get back.
import type { Readable } from 'node:stream';
import type { RegistryAuth } from './engine.js';

export interface SandboxNetworkOptions {
  /** Docker network (and Linux bridge) name for job containers; at most 15 characters. */
  name: string;
  /** Outbound TCP ports refused for jobs (SMTP and mail submission by default). */
  blockedTcpPorts: number[];
  /** Destination IPv4 addresses (or CIDRs) refused for jobs (the link-local range by default). */
  blockedAddresses: string[];
}

export interface SandboxOptions {
  /** Runner instance id, put in the labels of every object the sandbox creates. */
  instanceId: string;
  /** Defaults: iron-jobs, [25, 465, 587, 2525], ['169.254.0.0/16'] (src/config/egress.ts). */
  network?: SandboxNetworkOptions;
  /** After this many bytes of output a truncation marker is written; the job keeps running. */
  maxLogBytes: number;
  /** Cancel / timeout: SIGTERM, then SIGKILL after this grace period. */
  stopGraceMs: number;
  /**
   * LRU eviction of images this sandbox pulled once their total size exceeds this. Images that were on
   * the engine before (preloaded, built, pulled by others), and images any container still uses, are
   * never removed. Undefined = no eviction.
   */
  imageCacheBytes?: number;
  /** Default 10 minutes. */
  pullTimeoutMs?: number;
  /**
   * A file only this runner writes (JOBS_DIR/private-images.json) that remembers which images were
   * pulled with credentials, across restarts. Undefined: remembered in memory only.
   */
  imageStateFile?: string;
  /** Default 256. Applied when a task gives no pidsLimit. */
  defaultPidsLimit?: number;
  /**
   * An image already present on the engine, used only on overlay2-over-xfs to probe whether
   * `--storage-opt size` works (the engine does not report pquota). Without it that case falls back.
   */
  storageProbeImage?: string;
  /**
   * A directory only this runner writes (JOBS_DIR/input), for delivering input as a read-only bind
   * when the engine shares the filesystem. Undefined: always the per-task volume.
   */
  inputDir?: string;
  /** `auto` (default): bind when the probe proves the engine sees inputDir, else volume. */
  inputMode?: 'auto' | 'volume';
  /** Skip installing iptables rules (tests of other parts; an operator who manages the firewall). */
  manageEgressRules?: boolean;
}

export interface TaskLimits {
  memoryBytes: number;
  /** Writable disk for the task. Undefined: half the memory limit (fallback mode) or memoryBytes (quota mode). */
  diskBytes?: number;
  cpuShares?: number;
  /** Hard CPU cap in 1e-9 CPUs (0.5 CPU = 500_000_000). */
  nanoCpus?: number;
  pidsLimit?: number;
}

export interface TaskSpec {
  taskId: string;
  image: string;
  /** argv; undefined = the image's ENTRYPOINT/CMD. */
  command?: string[];
  /** The code's env_vars. TASK_ID, TASK_DIR, PAYLOAD_FILE and CONFIG_FILE are added (and win). */
  env: Record<string, string>;
  payload: Buffer;
  config: string;
  limits: TaskLimits;
  timeoutMs: number;
  /** Extra labels (e.g. the reservation id); instance and task id labels are added. */
  labels: Record<string, string>;
  registryAuth?: RegistryAuth;
  /**
   * Who asks for the image (the runner passes the project id; default ''). An image pulled with
   * credentials is reused for another scope only after that scope's credentials pulled it again.
   */
  imageScope?: string;
  /**
   * A code package, already checked by the caller (src/zip: paths below the root, in-tree symlinks,
   * limits). Its files are in the task's directory (TASK_DIR, also the working directory) when the
   * command starts, writable within the task's disk limit.
   */
  code?: CodeFiles;
}

export interface CodeFileEntry {
  /** Clean relative path ('bin/run.sh'). */
  readonly path: string;
  readonly kind: 'file' | 'dir' | 'symlink';
  readonly mode: number;
  readonly size: number;
  readonly target?: string;
  /** Files: the bytes (exactly `size` of them, or the stream errors). */
  open(): Promise<Readable>;
}

export interface CodeFiles {
  readonly entries: readonly CodeFileEntry[];
  readonly unpackedBytes: number;
}

export interface TaskIO {
  /** Awaited: a slow consumer slows the container's output (back-pressure), never buffers unboundedly. */
  onOutput(chunk: Buffer, stream: 'stdout' | 'stderr'): void | Promise<void>;
  /**
   * Called once, as the container's create is requested (the two overlap), and awaited before start.
   * If it rejects, the container is removed and runTask rejects with that error (the task must not
   * run). The runner uses it for the API's start call.
   */
  beforeStart?(signal: AbortSignal): Promise<void>;
  /** Called right before the engine is asked to start the job: from here on the job may have run. */
  onStarting?(containerId: string): void;
  /**
   * Given, runTask settles as soon as the outcome is known and hands over the removal of the container
   * and input (a promise that never rejects): the caller reports first and awaits it before reusing
   * the slot. Without it runTask settles after the removal.
   */
  deferCleanup?(cleanup: Promise<void>): void;
  /** Called right after the engine's create call returns (the runner measures pickup latency with it). */
  onCreated?(containerId: string): void;
}

export type TaskStatus = 'complete' | 'error' | 'timeout' | 'killed' | 'cancelled';

export interface TaskOutcome {
  status: TaskStatus;
  /** '' for complete; "exit code 3"; "timed out after 10 s"; "out of memory (limit 64 MiB)"; ... */
  msg: string;
  exitCode: number | null;
  durationMs: number;
  /** Bytes handed to onOutput, the truncation marker included (what the task log's size will be). */
  logBytes: number;
  truncated: boolean;
}

export interface SandboxCapabilities {
  diskQuota: 'storage-opt' | 'fallback';
  egressRules: boolean;
  storageDriver: string;
}
