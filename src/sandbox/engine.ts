// The port between the sandbox and a container engine. Only plain data crosses it (no dockerode
// objects), so the rest of the project never depends on the Docker client library, and every call
// takes an AbortSignal so a stuck engine can never hang a caller forever.
import type { Readable } from 'node:stream';

export interface EngineInfo {
  storageDriver: string;
  /** "Backing Filesystem" from DriverStatus (overlay2: extfs, xfs, btrfs ...); '' when not reported. */
  backingFs: string;
  serverVersion: string;
}

export interface ImageInfo {
  id: string;
  size: number;
  /** The image's ENTRYPOINT and CMD (null when unset): a code package's unpack step runs before them. */
  entrypoint?: string[] | null;
  cmd?: string[] | null;
  /** Paths the image declares with VOLUME (Config.Volumes); the engine would back each with host disk. */
  volumes?: string[];
}

export interface RegistryAuth {
  username?: string;
  password?: string;
  serveraddress?: string;
  email?: string;
  identitytoken?: string;
}

/** A volume, or a directory of the engine's host (only the runner's own per-task input dir). */
export interface ContainerMount {
  Type: 'volume' | 'bind';
  Source: string;
  Target: string;
  ReadOnly: boolean;
}

/** The subset of Docker's container-create body the sandbox uses (Engine API v1.41 field names). */
export interface ContainerCreateBody {
  name?: string;
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  Env: string[];
  Labels: Record<string, string>;
  AttachStdout: boolean;
  AttachStderr: boolean;
  AttachStdin: boolean;
  OpenStdin: boolean;
  Tty: boolean;
  NetworkDisabled?: boolean;
  HostConfig: {
    Init: boolean;
    Memory: number;
    MemorySwap: number;
    CpuShares?: number;
    NanoCpus?: number;
    PidsLimit: number;
    ReadonlyRootfs: boolean;
    Tmpfs?: Record<string, string>;
    StorageOpt?: Record<string, string>;
    ShmSize?: number;
    Mounts?: ContainerMount[];
    NetworkMode: string;
    SecurityOpt: string[];
    CapDrop: string[];
    CapAdd: string[];
    Privileged: false;
    LogConfig: { Type: string; Config: Record<string, string> };
    AutoRemove: false;
  };
}

export interface ContainerState {
  status: string;
  running: boolean;
  oomKilled: boolean;
  exitCode: number;
  error: string;
  imageId: string;
}

/** One resource sample of a running container (the engine's stats, about one a second). */
export interface UsageSample {
  /**
   * Bytes: the cgroup's peak so far where the engine reports one (cgroup v1 `max_usage`, i.e.
   * memory.max_usage_in_bytes), else its usage now (cgroup v2 memory.current).
   */
  memoryBytes: number;
  /** The container's CPU time so far (user + system), nanoseconds. */
  cpuNanos: number;
}

export interface ContainerSummary {
  id: string;
  labels: Record<string, string>;
  state: string;
  imageId: string;
}

export interface VolumeSummary {
  name: string;
  labels: Record<string, string>;
}

export interface NetworkInfo {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** The Linux bridge name (com.docker.network.bridge.name option), when set. */
  bridgeName: string | undefined;
}

export interface ContainerEngine {
  ping(signal: AbortSignal): Promise<void>;
  info(signal: AbortSignal): Promise<EngineInfo>;

  imageInspect(ref: string, signal: AbortSignal): Promise<ImageInfo | undefined>;
  /** Resolves when the pull finished; rejects with the registry's error (also when it arrives mid-stream). */
  imagePull(ref: string, auth: RegistryAuth | undefined, signal: AbortSignal): Promise<void>;
  imageRemove(ref: string, signal: AbortSignal): Promise<void>;

  containerCreate(body: ContainerCreateBody, signal: AbortSignal): Promise<string>;
  /** The raw multiplexed stdout/stderr stream (Tty false). Attach before start so no output is lost. */
  containerAttach(id: string, signal: AbortSignal): Promise<Readable>;
  /** Extracts a tar archive into `path` inside the container (works before start, no host paths). */
  containerPutArchive(id: string, path: string, tar: Buffer | Readable, signal: AbortSignal): Promise<void>;
  /** A tar archive of `path` inside the container (works before start); rejects past maxBytes. */
  containerGetArchive(id: string, path: string, maxBytes: number, signal: AbortSignal): Promise<Buffer>;
  containerStart(id: string, signal: AbortSignal): Promise<void>;
  /** Waits until the container is not running; returns its exit status. */
  containerWait(id: string, signal: AbortSignal): Promise<number>;
  containerInspect(id: string, signal: AbortSignal): Promise<ContainerState>;
  /**
   * Streams the running container's resource samples to `onSample` until it stops (the engine ends
   * the stream) or the signal aborts; resolves then. Samples of a stopped container are not passed on.
   */
  containerStats(id: string, onSample: (s: UsageSample) => void, signal: AbortSignal): Promise<void>;
  /**
   * Actions the engine recorded for a container between two unix times in seconds. A `kill` action
   * means the engine itself signalled the container (its shutdown, docker stop, docker kill).
   */
  containerEvents(id: string, sinceSec: number, untilSec: number, signal: AbortSignal): Promise<string[]>;
  /** Sends a signal; a container that is not running is not an error (kill is idempotent). */
  containerKill(id: string, sig: 'SIGTERM' | 'SIGKILL', signal: AbortSignal): Promise<void>;
  /** Force-removes with its anonymous volumes; an already removed container is not an error. */
  containerRemove(id: string, signal: AbortSignal): Promise<void>;
  containerList(labels: string[], signal: AbortSignal): Promise<ContainerSummary[]>;

  volumeCreate(name: string, labels: Record<string, string>, signal: AbortSignal): Promise<void>;
  /** An already removed volume is not an error. */
  volumeRemove(name: string, signal: AbortSignal): Promise<void>;
  volumeList(labels: string[], signal: AbortSignal): Promise<VolumeSummary[]>;

  networkInspect(name: string, signal: AbortSignal): Promise<NetworkInfo | undefined>;
  networkCreate(name: string, bridgeName: string, labels: Record<string, string>, signal: AbortSignal): Promise<NetworkInfo>;
  networkRemove(name: string, signal: AbortSignal): Promise<void>;
  networkList(labels: string[], signal: AbortSignal): Promise<NetworkInfo[]>;
}
