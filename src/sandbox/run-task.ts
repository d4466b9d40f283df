// One task, start to finish: image -> input (bind dir, or volume filled while the job is created) ->
// create + attach, with the API's start call (beforeStart) overlapping them -> start ->
// wait (timeout / cancel) -> inspect -> classify, and the container and input are removed on every
// path out of here, including failures of create, attach, start and the consumer. A caller that
// passes io.deferCleanup gets the outcome before the removal is done (and must await the removal).
import type { Logger } from 'pino';
import { toError } from '../errors.js';
import { formatSize } from '../config/units.js';
import { imageRefProblem } from '../protocol/image-ref.js';
import { buildContainerSpec, declaredVolumes, writableBytes } from './container-spec.js';
import type { ContainerEngine, ContainerMount } from './engine.js';
import { engineMessageOf, statusOf } from './engine-errors.js';
import type { ImageCache } from './images.js';
import { classify, startFailureMsg } from './outcome.js';
import { newOutputResult, pumpOutput } from './output.js';
import { ContainerStopper } from './stop.js';
import type { JobInput, PreparedInput } from './input-contract.js';
import { validateTaskSpec } from './validate.js';
import type { SandboxCapabilities, TaskIO, TaskOutcome, TaskSpec } from './types.js';

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

/** How long output may keep draining after a cancelled container stopped, before we cut the stream. */
const CANCEL_DRAIN_MS = 5_000;
const CLEANUP_MS = 30_000;

const early = (status: TaskOutcome['status'], msg: string, t0: number): TaskOutcome =>
  ({ status, msg, exitCode: null, durationMs: Math.round(performance.now() - t0), logBytes: 0, truncated: false });

export async function runTask(ctx: RunContext, spec: TaskSpec, io: TaskIO, signal: AbortSignal): Promise<TaskOutcome> {
  validateTaskSpec(spec);
  const t0 = performance.now();
  const log = ctx.log.child({ task_id: spec.taskId });
  if (signal.aborted) return early('cancelled', 'cancelled', t0);
  // Before any engine call: the engine would read a malformed reference as a different path.
  const refProblem = imageRefProblem(spec.image);
  if (refProblem !== undefined) {
    log.info({ image: spec.image.slice(0, 200) }, 'task image reference refused');
    return early('error', `invalid image: ${JSON.stringify(spec.image.slice(0, 200))} (${refProblem})`, t0);
  }

  let image;
  try {
    image = await ctx.images.ensure(spec.image, spec.registryAuth, signal, spec.imageScope);
  } catch (err) {
    if (signal.aborted) return early('cancelled', 'cancelled', t0);
    throw err;
  }
  if (!image.ok) {
    log.info({ image: spec.image, reason: image.msg }, 'task image unusable');
    return early('error', image.msg, t0);
  }

  const unsupported = declaredVolumes(image.volumes).unsupported;
  if (unsupported.length > 0) {
    return early('error', `image declares VOLUME ${JSON.stringify(unsupported[0]?.slice(0, 200))}, which cannot be limited to the task's disk; remove it from the image`, t0);
  }
  if (spec.code !== undefined) {
    const room = writableBytes(spec, ctx.capabilities.diskQuota);
    if (spec.code.unpackedBytes > room) {
      return early('error', `the code package unpacks to ${formatSize(spec.code.unpackedBytes)}, more than the task's disk limit of ${formatSize(room)}`, t0);
    }
  }

  const release = ctx.images.acquire(spec.image);
  // Cleanup steps, run last-in first-out: the container before its input, the image lease last.
  const cleanups: Array<() => Promise<void>> = [async () => {
    release();
    await ctx.images.evict(AbortSignal.timeout(CLEANUP_MS)).catch((err: unknown) => log.warn({ err }, 'image eviction failed'));
  }];
  let input: PreparedInput | undefined;
  try {
    try {
      input = await ctx.input.prepare({
        engine: ctx.engine, log, instanceId: ctx.instanceId, taskId: spec.taskId, image: spec.image,
        labels: spec.labels, payload: spec.payload, config: spec.config, ...(spec.code === undefined ? {} : { code: spec.code }),
      }, signal);
    } catch (err) {
      if (signal.aborted) return early('cancelled', 'cancelled', t0);
      // Given back, a package too big for the runner's input directory would come back forever.
      if (spec.code !== undefined && (err as { code?: unknown }).code === 'ENOSPC') {
        return early('error', `no room for the code package (${formatSize(spec.code.unpackedBytes)}) in the runner's input directory (JOBS_DIR/input)`, t0);
      }
      throw err;
    }
    cleanups.push(input.dispose.bind(input));
    const imageConfig = { entrypoint: image.entrypoint, cmd: image.cmd };
    return await runContainer(ctx, spec, io, signal, { inputMount: input.mount, image: imageConfig, imageVolumes: image.volumes }, log, t0, input.filled, cleanups);
  } finally {
    const cleanup = (async () => {
      for (const step of cleanups.reverse()) await step();
    })();
    if (io.deferCleanup === undefined) await cleanup;
    else io.deferCleanup(cleanup);
  }
}

async function runContainer(
  ctx: RunContext, spec: TaskSpec, io: TaskIO, signal: AbortSignal,
  prepared: { inputMount: ContainerMount; image: { entrypoint: string[] | null; cmd: string[] | null }; imageVolumes: readonly string[] }, log: Logger, t0: number,
  filled: Promise<void>, cleanups: Array<() => Promise<void>>,
): Promise<TaskOutcome> {
  const { engine } = ctx;
  const body = buildContainerSpec({
    spec, instanceId: ctx.instanceId, capabilities: ctx.capabilities, networkName: ctx.networkName,
    inputMount: prepared.inputMount, image: prepared.image, defaultPidsLimit: ctx.defaultPidsLimit, imageVolumes: prepared.imageVolumes,
  });
  // The API's start call overlaps create and attach; the job starts only once both are done.
  const confirmed = io.beforeStart?.(signal) ?? Promise.resolve();
  confirmed.catch(() => undefined);
  let id: string;
  try {
    id = await engine.containerCreate(body, signal);
  } catch (err) {
    await confirmed.catch(() => undefined);
    if (signal.aborted) return early('cancelled', 'cancelled', t0);
    const msg = createFailureMsg(err);
    if (msg !== undefined) return early('error', msg, t0);
    throw err;
  }
  cleanups.push(async () => {
    await engine.containerRemove(id, AbortSignal.timeout(CLEANUP_MS)).catch((err: unknown) => {
      log.warn({ err, container_id: id }, 'task container not removed; the orphan reaper will retry');
    });
  });
  io.onCreated?.(id);
  // Attach and wait live past the task's signal: after a cancel we still drain output and see the exit.
  const internal = new AbortController();
  try {
    const stream = await engine.containerAttach(id, internal.signal);
    let consumerError: Error | undefined;
    const output = newOutputResult();
    const pump: Promise<void> = pumpOutput(stream, io, ctx.maxLogBytes, output).then(() => undefined, (err: unknown) => {
      // A stream we cut ourselves is not the consumer's failure.
      if (!internal.signal.aborted) consumerError = toError(err);
    });
    try {
      // Before beforeStart: a task whose input could not be written is given back, never reported started.
      await filled;
    } catch (err) {
      if (signal.aborted) return early('cancelled', 'cancelled', t0);
      throw err;
    }
    try {
      await confirmed;
    } catch (err) {
      if (signal.aborted) return early('cancelled', 'cancelled', t0);
      throw err;
    }
    if (signal.aborted) return early('cancelled', 'cancelled', t0);

    io.onStarting?.(id);
    const startedAt = performance.now();
    try {
      // Not the task's signal: a cancel that lands while start is in flight must still reach the
      // job as SIGTERM + grace (below), not as the force-remove an aborted start would leave us with.
      await engine.containerStart(id, AbortSignal.any([internal.signal, AbortSignal.timeout(CLEANUP_MS)]));
    } catch (err) {
      const msg = statusOf(err) === undefined ? undefined : startFailureMsg(engineMessageOf(err));
      if (msg !== undefined) return early('error', msg, t0);
      if (signal.aborted) return early('cancelled', 'cancelled', t0);
      throw err;
    }
    log.debug({ container_id: id }, 'task container started');

    const waitP = engine.containerWait(id, internal.signal);
    const stopper = new ContainerStopper(engine, id, ctx.stopGraceMs);
    let timedOut = false;
    let cancelled = false;
    let stopP: Promise<void> | undefined;
    const stop = (why: string): void => {
      log.info({ container_id: id, why }, 'stopping task container');
      stopP ??= stopper.stop(waitP).catch((err: unknown) => log.warn({ err }, 'stopping the task container failed'));
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop('timeout');
    }, spec.timeoutMs);
    const onAbort = (): void => {
      cancelled = true;
      stop('cancel');
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    // A consumer that throws cannot take more output; stop the job rather than let it block on a full pipe.
    void pump.then(() => {
      if (consumerError !== undefined) stop('output consumer failed');
    });
    let exitCode: number;
    try {
      exitCode = await waitP;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
    const durationMs = Math.round(performance.now() - startedAt);
    await stopP;
    await drain(pump, cancelled || timedOut, internal);
    if (consumerError !== undefined && !cancelled) throw consumerError;
    const state = await engine.containerInspect(id, AbortSignal.timeout(CLEANUP_MS));
    const verdict = classify({
      cancelled, timedOut, timeoutMs: spec.timeoutMs, memoryBytes: spec.limits.memoryBytes, oomKilled: state.oomKilled,
      exitCode: state.running ? exitCode : state.exitCode, stderrHead: output.stderrHead,
    });
    const outcome: TaskOutcome = { ...verdict, durationMs, logBytes: output.logBytes, truncated: output.truncated };
    log.info({ container_id: id, status: outcome.status, exit_code: outcome.exitCode, duration_ms: durationMs, oom: state.oomKilled }, 'task finished');
    return outcome;
  } finally {
    internal.abort();
  }
}

/** Waits for the output to be delivered; after our own stop the wait is bounded, then the stream is cut. */
async function drain(pump: Promise<void>, bounded: boolean, internal: AbortController): Promise<void> {
  if (!bounded) return pump;
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CANCEL_DRAIN_MS);
  });
  const first = await Promise.race([pump.then(() => 'done' as const), cut.then(() => 'cut' as const)]);
  clearTimeout(timer);
  if (first === 'cut') internal.abort();
  return pump;
}

/**
 * Create failures that end the task `error` with the engine's reason: any 4xx is the engine refusing
 * this container (bad request, 431 headers too large, missing image, conflict), which a retry
 * elsewhere cannot change, so it is never given back (issue 13 item 8a: such tasks were re-reserved
 * without end). 5xx and connection failures are thrown: the engine's trouble, the task goes back.
 */
function createFailureMsg(err: unknown): string | undefined {
  const status = statusOf(err);
  if (status === undefined || status >= 500) return undefined;
  const m = engineMessageOf(err);
  if (status === 404) return `invalid image: ${m.slice(0, 300)}`;
  const start = startFailureMsg(m);
  if (start !== undefined) return start;
  if (/reference format|invalid reference/i.test(m)) return `invalid image: ${m.slice(0, 300)}`;
  return `the engine refused the task container (HTTP ${status}): ${m.slice(0, 300)}`;
}
