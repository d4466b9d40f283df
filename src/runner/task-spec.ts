// Turns a reserved task into the sandbox's TaskSpec: argv from the registered command, limits granted
// by limits.ts (the task's ask capped by the runner's maximum), the timeout (0 = Iron's maximum),
// registry auth, and the reservation (the sandbox labels its objects with it).
import type { ReservedTask } from '../api/index.js';
import type { RunnerConfig } from '../config/runner.js';
import type { RegistryAuth, TaskSpec } from '../sandbox/index.js';
import { splitCommand } from './command.js';
import { taskLimits } from './limits.js';
import { MAX_TIMEOUT_S } from '../protocol/limits.js';

export function buildTaskSpec(task: ReservedTask, payload: Buffer, config: Readonly<RunnerConfig>): TaskSpec {
  const timeoutS = task.timeout > 0 && task.timeout <= MAX_TIMEOUT_S ? task.timeout : MAX_TIMEOUT_S;
  const limits = taskLimits(task, config);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(task.env_vars ?? {})) if (typeof v === 'string') env[k] = v;
  const spec: TaskSpec = {
    taskId: task.id,
    image: task.image,
    env,
    payload,
    config: task.config ?? '',
    limits: {
      memoryBytes: limits.memory.granted,
      pidsLimit: config.pidsPerJob,
    },
    timeoutMs: timeoutS * 1000,
    labels: {},
    reservationId: task.reservation_id,
  };
  const command = splitCommand(task.command ?? '');
  if (command !== undefined) spec.command = command;
  if (limits.disk.granted !== undefined) spec.limits.diskBytes = limits.disk.granted;
  if (limits.cpuShares.granted !== undefined) spec.limits.cpuShares = limits.cpuShares.granted;
  if (config.cpusPerJob !== undefined) spec.limits.nanoCpus = Math.round(config.cpusPerJob * 1e9);
  const auth = registryAuth(task.docker_auth);
  if (auth !== undefined) spec.registryAuth = auth;
  // A cached private image is reused for another project only after its own credentials pulled it.
  spec.imageScope = task.project_id;
  return spec;
}

/** docker_auth as the API hands it: an object, or ironcli's base64 JSON `auth` string. */
export function registryAuth(value: unknown): RegistryAuth | undefined {
  let v = value;
  if (typeof v === 'string' && v !== '') {
    try {
      v = JSON.parse(Buffer.from(v, 'base64').toString('utf8'));
    } catch {
      return undefined;
    }
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const out: RegistryAuth = {};
  for (const k of ['username', 'password', 'serveraddress', 'email', 'identitytoken'] as const) {
    if (typeof o[k] === 'string') out[k] = o[k];
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
