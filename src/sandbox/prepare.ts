// Phase one of a task: everything before the job may start. The spec is checked, the image made
// present, the input prepared (bind dir, or a volume filled in the background), and the container's
// create requested; prepare resolves then, so the caller's own start call (the API's) overlaps the
// create, the attach and the fill. A task that cannot run resolves as a prepared task that is not
// runnable, with its outcome. Prepare never rejects: every failure is the task's one outcome.
import type { Logger } from 'pino';
import { formatSize } from '../config/units.js';
import { toError } from '../errors.js';
import { imageRefProblem } from '../protocol/image-ref.js';
import { buildContainerSpec, declaredVolumes, writableBytes } from './container-spec.js';
import type { ContainerEngine } from './engine.js';
import type { ImageCache } from './images.js';
import type { JobInput } from './input-contract.js';
import { LABEL_RESERVATION } from './labels.js';
import { TaskContainer, type Cleanup } from './task-container.js';
import type { PreparedTask, SandboxCapabilities, TaskSpec } from './types.js';
import { validateTaskSpec } from './validate.js';

export interface RunContext {
  engine: ContainerEngine;
  log: Logger;
  images: ImageCache;
  input: JobInput;
  capabilities: SandboxCapabilities;
  networkName: string;
  instanceId: string;
  maxLogBytes: number;
  stopGraceMs: number;
  defaultPidsLimit: number;
}

const CLEANUP_MS = 30_000;

export async function prepareTask(ctx: RunContext, task: TaskSpec, signal: AbortSignal): Promise<PreparedTask> {
  const t0 = performance.now();
  const wallT0 = Date.now();
  const ended = (kind: 'refused' | 'cancelled', reason: string, cleanups: Cleanup[] = []): PreparedTask => TaskContainer.ended({ kind, reason, exitCode: null }, t0, cleanups, ctx.log);
  const failed = (err: unknown, cleanups: Cleanup[] = []): PreparedTask =>
    TaskContainer.ended({ kind: 'failed', error: toError(err), engineAsked: false, reason: toError(err).message, exitCode: null }, t0, cleanups, ctx.log);
  try {
    validateTaskSpec(task);
  } catch (err) {
    return failed(err);
  }
  const spec = task.reservationId === undefined ? task : { ...task, labels: { ...task.labels, [LABEL_RESERVATION]: task.reservationId } };
  const log = ctx.log.child({ task_id: spec.taskId });
  if (signal.aborted) return ended('cancelled', 'cancelled');
  // Before any engine call: the engine would read a malformed reference as a different path.
  const refProblem = imageRefProblem(spec.image);
  if (refProblem !== undefined) {
    log.info({ image: spec.image.slice(0, 200) }, 'task image reference refused');
    return ended('refused', `invalid image: ${JSON.stringify(spec.image.slice(0, 200))} (${refProblem})`);
  }

  let image;
  try {
    image = await ctx.images.ensure(spec.image, spec.registryAuth, signal, spec.imageScope);
  } catch (err) {
    return signal.aborted ? ended('cancelled', 'cancelled') : failed(err);
  }
  if (!image.ok) {
    log.info({ image: spec.image, reason: image.msg }, 'task image unusable');
    return ended('refused', image.msg);
  }
  const unsupported = declaredVolumes(image.volumes).unsupported;
  if (unsupported.length > 0) {
    return ended('refused', `image declares VOLUME ${JSON.stringify(unsupported[0]?.slice(0, 200))}, which cannot be limited to the task's disk; remove it from the image`);
  }
  if (spec.code !== undefined) {
    const room = writableBytes(spec, ctx.capabilities.diskQuota);
    if (spec.code.unpackedBytes > room) {
      return ended('refused', `the code package unpacks to ${formatSize(spec.code.unpackedBytes)}, more than the task's disk limit of ${formatSize(room)}`);
    }
  }

  const release = ctx.images.acquire(spec.image);
  // Removal steps, run last-in first-out: the container before its input, the image lease last.
  const cleanups: Cleanup[] = [
    async () => {
      release();
      await ctx.images.evict(AbortSignal.timeout(CLEANUP_MS)).catch((err: unknown) => log.warn({ err }, 'image eviction failed'));
    },
  ];
  let input;
  try {
    input = await ctx.input.prepare(
      {
        engine: ctx.engine,
        log,
        instanceId: ctx.instanceId,
        taskId: spec.taskId,
        image: spec.image,
        labels: spec.labels,
        payload: spec.payload,
        config: spec.config,
        ...(spec.code === undefined ? {} : { code: spec.code }),
      },
      signal,
    );
  } catch (err) {
    if (signal.aborted) return ended('cancelled', 'cancelled', cleanups);
    // Given back, a package too big for the runner's input directory would come back forever.
    if (spec.code !== undefined && (err as { code?: unknown }).code === 'ENOSPC') {
      return ended('refused', `no room for the code package (${formatSize(spec.code.unpackedBytes)}) in the runner's input directory (JOBS_DIR/input)`, cleanups);
    }
    return failed(err, cleanups);
  }
  cleanups.push(input.dispose.bind(input));
  const body = buildContainerSpec({
    spec,
    instanceId: ctx.instanceId,
    capabilities: ctx.capabilities,
    networkName: ctx.networkName,
    inputMount: input.mount,
    image: { entrypoint: image.entrypoint, cmd: image.cmd },
    defaultPidsLimit: ctx.defaultPidsLimit,
    imageVolumes: image.volumes,
  });
  return TaskContainer.create({
    engine: ctx.engine,
    log,
    body,
    filled: input.filled,
    cleanups,
    signal,
    t0,
    wallT0,
    timeoutMs: spec.timeoutMs,
    memoryBytes: spec.limits.memoryBytes,
    maxLogBytes: ctx.maxLogBytes,
    stopGraceMs: ctx.stopGraceMs,
  });
}
