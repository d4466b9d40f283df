// The sandbox's public data shapes: what the runner daemon and `iron-runner exec` hand to prepare,
// the prepared task they sequence, and the one outcome they get back.
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
  /** Where the sandbox tells what it did on its own (the runner turns these into its events). */
  notices?: SandboxNotices;
}

/**
 * What the sandbox did that nobody asked for by name: notifications only, never asked for an answer,
 * so they cannot steer a task (the runner maps them onto its typed events; the log subscribes there).
 */
export interface SandboxNotices {
  imagePulled?(e: { image: string; ms: number }): void;
  imagesEvicted?(e: { removed: string[]; remainingBytes: number; limitBytes: number }): void;
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
  /** Extra labels; instance and task id labels are added. */
  labels: Record<string, string>;
  /**
   * The reservation this run is of, put in a label on the task's objects: the orphan reaper of a
   * restarted runner gives the task back under it.
   */
  reservationId?: string;
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

/** Awaited: a slow consumer slows the container's output (back-pressure), never buffers unboundedly. */
export type OutputSink = (chunk: Buffer, stream: 'stdout' | 'stderr') => void | Promise<void>;

/** What a task's container used, as the engine's stats reported it (usage-meter.ts). */
export interface TaskUsage {
  /** Bytes: the most memory the container's cgroup held. */
  peakMemoryBytes: number;
  /** CPU time (user + system), seconds. */
  cpuSeconds: number;
}

/** What every outcome carries: the reason in words, and what the run measured. */
interface OutcomeFacts {
  /** '' for exit 0; "exit code 3"; "timed out after 10 s"; "out of memory (limit 64 MiB)"; ... */
  reason: string;
  exitCode: number | null;
  /** From the engine's start (0 when the job never started: then from prepare). */
  durationMs: number;
  /** Bytes handed to the output sink, the truncation marker included (what the task log's size will be). */
  logBytes: number;
  truncated: boolean;
  /** Only for a job that ran and some stats sample arrived before it stopped. */
  usage?: TaskUsage;
}

/**
 * How a prepared task ended, decided once by the sandbox. Which of these the runner reports, and
 * how, is src/runner/outcome.ts.
 * - exit: the job exited by itself (code 0 or not; a command the image cannot exec is exit 126/127
 *   with the reason saying so).
 * - oom: the kernel killed it at its memory limit.
 * - timeout / cancelled: the sandbox stopped it (its timeout; stop() or an aborted signal before it ran).
 * - stopped-by-engine: SIGTERM/SIGKILL the sandbox did not send: the engine's shutdown, docker stop or
 *   kill (`engineDown` when the engine then did not answer: it is going away).
 * - refused: the task cannot run, here or anywhere (its image, its command, its package): another
 *   attempt would meet the same refusal.
 * - failed: the engine or the sandbox failed (`error` keeps the IronError code); `engineAsked` says
 *   whether the engine was asked to start the job, i.e. whether it may have run.
 */
export type SandboxOutcome =
  | (OutcomeFacts & { kind: 'exit'; code: number })
  | (OutcomeFacts & { kind: 'oom' })
  | (OutcomeFacts & { kind: 'timeout' })
  | (OutcomeFacts & { kind: 'cancelled' })
  | (OutcomeFacts & { kind: 'stopped-by-engine'; engineDown: boolean })
  | (OutcomeFacts & { kind: 'refused' })
  | (OutcomeFacts & { kind: 'failed'; error: Error; engineAsked: boolean });

export type OutcomeKind = SandboxOutcome['kind'];

/**
 * One task between prepare and removal. The caller sequences it: start once (or never), wait for the
 * one outcome, dispose. Nothing calls back into the caller but the output sink.
 */
export interface PreparedTask {
  /**
   * False when preparing already decided the outcome (a refused image, a cancel, an engine failure):
   * the caller must not start it (nor tell anyone it started); wait() has the outcome.
   */
  readonly runnable: boolean;
  /**
   * Starts the job once the container is created and its input written; resolves once the engine
   * started it, or once it is known that it never will (wait() says why). Output goes to `onOutput`
   * from here on. `signal` aborted before the job started: it never starts (cancelled).
   */
  start(onOutput: OutputSink, signal: AbortSignal): Promise<void>;
  /** SIGTERM, grace, SIGKILL; before the start the job never runs. Idempotent; the first reason is logged. */
  stop(reason: string): void;
  /** The outcome, as soon as it is known (before the removal). Never rejects. */
  wait(): Promise<SandboxOutcome>;
  /**
   * Removes the container, its input and the image lease. Idempotent and bounded; never rejects
   * (what it could not remove is the orphan reaper's). A task still running is killed.
   */
  dispose(): Promise<void>;
}

export interface SandboxCapabilities {
  diskQuota: 'storage-opt' | 'fallback';
  egressRules: boolean;
  storageDriver: string;
}
