// Bad task input gets a clear ERR_INVALID_ARGUMENT before anything touches the engine.
import { IronError } from '../errors.js';
import { LABEL_PREFIX } from './labels.js';
import type { TaskSpec } from './types.js';

const MIN_MEMORY = 6 * 1024 * 1024; // the engine refuses less
const ENV_NAME = /^[^=\0]+$/;

export function validateTaskSpec(spec: TaskSpec): void {
  const problems: string[] = [];
  if (typeof spec.taskId !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,127}$/.test(spec.taskId)) problems.push('taskId must be 1-128 characters [a-zA-Z0-9_.:-]');
  if (typeof spec.image !== 'string' || spec.image === '') problems.push('image is required');
  if (spec.command !== undefined && (!Array.isArray(spec.command) || !spec.command.every((a) => typeof a === 'string' && !a.includes('\0')))) {
    problems.push('command must be an array of strings without NUL bytes');
  }
  for (const [k, v] of Object.entries(spec.env ?? {})) {
    if (!ENV_NAME.test(k) || typeof v !== 'string' || v.includes('\0')) {
      problems.push(`env var ${JSON.stringify(k.slice(0, 64))} must have a name without "=" or NUL and a string value without NUL`);
    }
  }
  if (!Buffer.isBuffer(spec.payload)) problems.push('payload must be a Buffer');
  if (typeof spec.config !== 'string') problems.push('config must be a string');
  const l = spec.limits;
  if (l === undefined || !Number.isSafeInteger(l.memoryBytes) || l.memoryBytes < MIN_MEMORY) problems.push('limits.memoryBytes must be at least 6 MiB');
  if (l?.diskBytes !== undefined && (!Number.isSafeInteger(l.diskBytes) || l.diskBytes < 1024 * 1024)) problems.push('limits.diskBytes must be at least 1 MiB');
  if (l?.cpuShares !== undefined && (!Number.isInteger(l.cpuShares) || l.cpuShares < 2 || l.cpuShares > 262144)) problems.push('limits.cpuShares must be 2-262144');
  if (l?.nanoCpus !== undefined && (!Number.isSafeInteger(l.nanoCpus) || l.nanoCpus < 10_000_000)) problems.push('limits.nanoCpus must be at least 0.01 CPU');
  if (l?.pidsLimit !== undefined && (!Number.isInteger(l.pidsLimit) || l.pidsLimit < 8)) problems.push('limits.pidsLimit must be at least 8');
  if (!Number.isFinite(spec.timeoutMs) || spec.timeoutMs <= 0) problems.push('timeoutMs must be positive');
  for (const [k, v] of Object.entries(spec.labels ?? {})) {
    if (typeof v !== 'string' || k.startsWith(LABEL_PREFIX)) problems.push(`label ${JSON.stringify(k)} is reserved or not a string`);
  }
  if (spec.reservationId !== undefined && (typeof spec.reservationId !== 'string' || spec.reservationId.length > 256 || spec.reservationId.includes('\0'))) {
    problems.push('reservationId must be a string of at most 256 characters without NUL');
  }
  // The zip reader already refused these; a second, cheap look keeps the sandbox from writing
  // outside its input directory whatever a caller hands it.
  for (const e of spec.code?.entries ?? []) {
    if (e.path === '' || e.path.startsWith('/') || e.path.split('/').some((s) => s === '..' || s === '' || s === '.') || e.path.includes('\0')) {
      problems.push(`code entry ${JSON.stringify(e.path.slice(0, 100))} is not a clean relative path`);
      break;
    }
  }
  if (problems.length > 0) {
    throw new IronError('ERR_INVALID_ARGUMENT', `invalid task spec: ${problems.join('; ')}`, { details: { problems: problems.length } });
  }
}
