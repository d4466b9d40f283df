// Builds the job container's create body. Everything that makes the sandbox a sandbox is here, in
// one place: limits, the reduced privileges, the disk limit (real quota or fallback), the network.
// Nothing in TaskSpec can turn on privileged mode, host networking, host mounts or the Docker socket:
// those fields are fixed below, never copied from the spec. The one mount is the sandbox's own input.
import { posix } from 'node:path';
import type { ContainerCreateBody, ContainerMount } from './engine.js';
import { objectLabels } from './labels.js';
import { CODE_INPUT_DIR, CONFIG_FILE, PAYLOAD_FILE, TASK_DIR } from './input-contract.js';
import type { SandboxCapabilities, TaskSpec } from './types.js';

/**
 * Capabilities kept after dropping ALL. Docker's default set minus what ordinary job images do not
 * need: NET_RAW (raw sockets: spoofing, ARP tricks on the bridge), MKNOD, SETFCAP, SETPCAP,
 * SYS_CHROOT, AUDIT_WRITE, FSETID. Kept: CHOWN, DAC_OVERRIDE, FOWNER (root in the image manages its
 * own files: package installs, chown in entrypoints), SETUID, SETGID (entrypoints that drop to an
 * unprivileged user with su/gosu), KILL (signal own children running as another uid),
 * NET_BIND_SERVICE (a job that serves on port 80 inside its own namespace). no-new-privileges stops
 * setuid binaries from gaining anything beyond this set.
 */
export const CAP_ADD: readonly string[] = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID', 'KILL', 'NET_BIND_SERVICE'];

export const DEFAULT_PIDS_LIMIT = 256;
const MAX_SHM_BYTES = 64 * 1024 * 1024;

export interface ContainerSpecInput {
  spec: TaskSpec;
  instanceId: string;
  capabilities: SandboxCapabilities;
  networkName: string;
  /** The read-only input mount at INPUT_DIR (a per-task volume or the task's own input directory). */
  inputMount: ContainerMount;
  defaultPidsLimit: number;
  /** The image's ENTRYPOINT and CMD (from inspect): with a code package they run after the unpack step. */
  image?: { entrypoint: string[] | null; cmd: string[] | null };
  /** Paths the image declares with VOLUME: each gets a size-limited tmpfs instead of host disk. */
  imageVolumes?: readonly string[];
}

/**
 * The unpack step of a code package. TASK_DIR is only writable (a tmpfs in the fallback disk mode,
 * the quota'd writable layer otherwise) once the container runs, and the engine cannot write into a
 * tmpfs before that, so the job's own shell copies the read-only delivered files there and then
 * execs the command: the package's files are in the working directory, writable within the disk
 * limit. Images without /bin/sh cannot run code packages (documented in the README).
 */
export const UNPACK_SCRIPT = `cp -R ${CODE_INPUT_DIR}/. ${TASK_DIR}/ || { echo "iron: could not unpack the code package into ${TASK_DIR} (disk limit?)" >&2; exit 1; }; exec "$@"`;

/**
 * Writable space per task. With a real quota the writable layer gets diskBytes. In the fallback the
 * writable dirs are tmpfs, whose pages count against the memory limit (docker-facts §4): a tmpfs
 * larger than memory would turn "disk full" into an OOM kill, so each is capped at half the memory.
 */
export function writableBytes(spec: TaskSpec, mode: SandboxCapabilities['diskQuota']): number {
  const mem = spec.limits.memoryBytes;
  if (mode === 'storage-opt') return spec.limits.diskBytes ?? mem;
  const half = Math.floor(mem / 2);
  return Math.max(1024 * 1024, Math.min(spec.limits.diskBytes ?? half, half));
}

export function jobEnv(spec: TaskSpec): string[] {
  const env: Record<string, string> = {
    ...spec.env,
    TASK_ID: spec.taskId,
    TASK_DIR,
    PAYLOAD_FILE,
    CONFIG_FILE,
  };
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

/**
 * VOLUME paths as the engine reads them (absolute, cleaned), and the declared paths a tmpfs cannot
 * stand in for (relative, or with characters a mount destination cannot hold): the task is refused.
 */
export function declaredVolumes(paths: readonly string[]): { paths: string[]; unsupported: string[] } {
  const out = new Set<string>();
  const unsupported: string[] = [];
  for (const p of paths) {
    const clean = typeof p === 'string' && p.startsWith('/') ? posix.normalize(p).replace(/\/+$/, '') : '';
    if (clean === '' && p !== '/') unsupported.push(String(p));
    else if (/[\0:,\n]/.test(clean)) unsupported.push(clean);
    else if (clean !== '') out.add(clean);
    else unsupported.push('/');
  }
  return { paths: [...out], unsupported };
}

export function buildContainerSpec(input: ContainerSpecInput): ContainerCreateBody {
  const { spec, capabilities } = input;
  const mem = spec.limits.memoryBytes;
  const writable = writableBytes(spec, capabilities.diskQuota);
  const fallback = capabilities.diskQuota === 'fallback';
  const tmpfsOpts = `rw,exec,nosuid,nodev,size=${writable},mode=1777`;
  const body: ContainerCreateBody = {
    Image: spec.image,
    Env: jobEnv(spec),
    Labels: objectLabels(input.instanceId, spec.taskId, 'job', spec.labels),
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: false,
    OpenStdin: false,
    Tty: false,
    HostConfig: {
      Init: true,
      Memory: mem,
      MemorySwap: mem,
      PidsLimit: spec.limits.pidsLimit ?? input.defaultPidsLimit,
      ReadonlyRootfs: fallback,
      ShmSize: Math.min(MAX_SHM_BYTES, writable),
      Mounts: [{ ...input.inputMount, ReadOnly: true }],
      NetworkMode: input.networkName,
      SecurityOpt: ['no-new-privileges'],
      CapDrop: ['ALL'],
      CapAdd: [...CAP_ADD],
      Privileged: false,
      // Output is attached live; nothing is kept on the engine's disk.
      LogConfig: { Type: 'none', Config: {} },
      AutoRemove: false,
    },
  };
  if (spec.code !== undefined) {
    // An explicit Entrypoint drops the image's CMD, so both are put back behind the unpack step.
    body.Entrypoint = ['/bin/sh', '-c', UNPACK_SCRIPT, 'iron-unpack'];
    body.Cmd = [...(input.image?.entrypoint ?? []), ...(spec.command ?? input.image?.cmd ?? [])];
    body.WorkingDir = TASK_DIR;
  } else if (spec.command !== undefined) body.Cmd = [...spec.command];
  const tmpfs: Record<string, string> = fallback ? { [TASK_DIR]: tmpfsOpts, '/tmp': tmpfsOpts } : {};
  if (!fallback) body.HostConfig.StorageOpt = { size: String(writable) };
  // An image's VOLUME would be an anonymous volume on the engine's disk, outside any quota (issue 13
  // item 10: 400 MiB written to /data past a 128 MiB disk limit). A tmpfs at the same path takes its
  // place (the engine skips an image volume whose destination has a tmpfs), sized like the fallback's
  // writable dirs and counted in the memory limit. What the image put under that path is not visible.
  const volumeOpts = `rw,exec,nosuid,nodev,size=${writableBytes(spec, 'fallback')},mode=1777`;
  for (const path of declaredVolumes(input.imageVolumes ?? []).paths) {
    if (path === input.inputMount.Target || tmpfs[path] !== undefined) continue;
    tmpfs[path] = volumeOpts;
  }
  if (Object.keys(tmpfs).length > 0) body.HostConfig.Tmpfs = tmpfs;
  if (spec.limits.cpuShares !== undefined) body.HostConfig.CpuShares = spec.limits.cpuShares;
  if (spec.limits.nanoCpus !== undefined) body.HostConfig.NanoCpus = spec.limits.nanoCpus;
  return body;
}
