// The sandbox as the runner sees it: created once at startup (detects what the engine can enforce,
// prepares the job network and its egress rules, and says so in the log), then prepares tasks.
import type { Logger } from 'pino';
import { IronError } from '../errors.js';
import { INSTANCE_ID_RULE, isInstanceId } from '../ids.js';
import { formatSize } from '../config/units.js';
import { DEFAULT_PIDS_LIMIT } from './container-spec.js';
import { detectDiskQuota } from './disk-quota.js';
import type { ContainerEngine, RegistryAuth } from './engine.js';
import { ImageCache, type EnsureResult } from './images.js';
import { ImageProvenance } from './image-provenance.js';
import { InputChooser, type InputMode } from './input-mode.js';
import { DEFAULT_NETWORK, ensureJobNetwork } from './network.js';
import { reapOrphans, type ReapedTask } from './reaper.js';
import { prepareTask, type RunContext } from './prepare.js';
import type { PreparedTask, SandboxCapabilities, SandboxOptions, TaskSpec } from './types.js';

const DEFAULT_PULL_TIMEOUT_MS = 10 * 60_000;

export class Sandbox {
  readonly capabilities: SandboxCapabilities;
  private readonly ctx: RunContext;

  private constructor(
    ctx: RunContext,
    private readonly input: InputChooser,
    private readonly options: SandboxOptions,
    /** The engine's version as it reported it at startup (runners report it in their heartbeats). */
    readonly engineVersion: string,
  ) {
    this.ctx = ctx;
    this.capabilities = ctx.capabilities;
  }

  /** How job input is delivered; undefined until the first task decided it (see input-mode.ts). */
  get inputMode(): InputMode | undefined {
    return this.input.mode;
  }

  /**
   * Detects disk-quota support once, ensures the job network + egress rules, and logs what it found.
   * Rejects with ERR_ENGINE_UNAVAILABLE when the engine cannot be reached.
   */
  static async create(engine: ContainerEngine, options: SandboxOptions, log: Logger, signal: AbortSignal): Promise<Sandbox> {
    validateOptions(options);
    const slog = log.child({ component: 'sandbox' });
    const info = await engine.info(signal);
    const diskQuota = await detectDiskQuota(engine, info, options.storageProbeImage, options.instanceId, signal);
    const network = options.network ?? DEFAULT_NETWORK;
    const net = await ensureJobNetwork(engine, network, options.manageEgressRules ?? true, signal);
    const capabilities: SandboxCapabilities = Object.freeze({
      diskQuota,
      egressRules: net.egress.installed,
      storageDriver: info.storageDriver,
    });
    const facts = { storage_driver: info.storageDriver, backing_fs: info.backingFs, engine: info.serverVersion, network: network.name };
    if (diskQuota === 'storage-opt') slog.info(facts, 'disk quota: per-container --storage-opt size');
    else slog.warn(facts, 'disk quota: --storage-opt size unsupported by this storage driver; using read-only root + size-limited tmpfs for TASK_DIR and /tmp (counted in the memory limit)');
    if (net.egress.installed) slog.info({ network: network.name, blocked_tcp_ports: network.blockedTcpPorts, blocked_addresses: network.blockedAddresses }, 'egress rules installed');
    else slog.warn({ network: network.name, reason: net.egress.reason }, 'egress rules NOT installed: jobs can reach SMTP and the metadata address unless the host firewall blocks them');
    if (options.imageCacheBytes !== undefined) slog.info({ limit: formatSize(options.imageCacheBytes) }, 'image cache limit');
    const provenance = new ImageProvenance(options.imageStateFile, slog);
    await provenance.load(signal);
    const images = new ImageCache(
      engine,
      slog,
      {
        pullTimeoutMs: options.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS,
        cacheBytes: options.imageCacheBytes,
      },
      provenance,
      options.notices,
    );
    const input = new InputChooser(engine, options.inputMode ?? 'auto', options.inputDir, options.instanceId, slog);
    return new Sandbox(
      {
        engine,
        log: slog,
        images,
        input,
        capabilities,
        networkName: network.name,
        instanceId: options.instanceId,
        maxLogBytes: options.maxLogBytes,
        stopGraceMs: options.stopGraceMs,
        defaultPidsLimit: options.defaultPidsLimit ?? DEFAULT_PIDS_LIMIT,
      },
      input,
      options,
      info.serverVersion,
    );
  }

  /**
   * Phase one of a task in a fresh container (prepare.ts); the caller then starts, waits and disposes
   * the prepared task (PreparedTask in types.ts). Never rejects: a failure is the task's outcome.
   */
  prepare(spec: TaskSpec, signal: AbortSignal): Promise<PreparedTask> {
    return prepareTask(this.ctx, spec, signal);
  }

  /**
   * Removes this instance's leftover containers, volumes and input directories; returns the tasks
   * whose job containers were found.
   */
  async reapOrphans(signal: AbortSignal, keepTasks: ReadonlySet<string> = new Set()): Promise<ReapedTask[]> {
    const reaped = await reapOrphans(this.ctx.engine, this.options.instanceId, this.ctx.log, signal, keepTasks);
    // After the containers: a bind source must outlive the container that mounts it.
    const dirs = await this.input.reap(keepTasks);
    if (dirs > 0) this.ctx.log.warn({ dirs }, 'removed leftover task input directories of this runner instance');
    return reaped;
  }

  /** The engine answers (for /readyz). */
  ping(signal: AbortSignal): Promise<void> {
    return this.ctx.engine.ping(signal);
  }

  /**
   * Pulls an image ahead of its first task (pre-pull), with the credentials and scope that task will
   * have, so that task finds it present and verified. Counts toward the image cache like a task's.
   */
  async warm(image: string, auth: RegistryAuth | undefined, scope: string, signal: AbortSignal): Promise<EnsureResult> {
    const res = await this.ctx.images.ensure(image, auth, signal, scope);
    if (res.ok) await this.ctx.images.evict(signal);
    return res;
  }

  /** Images this sandbox used, most recent first (observability and tests). */
  cachedImages(): Array<{ ref: string; size: number; inUse: number }> {
    return this.ctx.images.snapshot();
  }
}

function validateOptions(o: SandboxOptions): void {
  const problems: string[] = [];
  if (!isInstanceId(o.instanceId)) problems.push(`instanceId must be ${INSTANCE_ID_RULE}`);
  if (!Number.isSafeInteger(o.maxLogBytes) || o.maxLogBytes < 0) problems.push('maxLogBytes must be a non-negative integer');
  if (!Number.isFinite(o.stopGraceMs) || o.stopGraceMs < 0) problems.push('stopGraceMs must be >= 0');
  if (o.imageCacheBytes !== undefined && (!Number.isSafeInteger(o.imageCacheBytes) || o.imageCacheBytes < 0)) problems.push('imageCacheBytes must be a non-negative integer');
  if (o.pullTimeoutMs !== undefined && (!Number.isFinite(o.pullTimeoutMs) || o.pullTimeoutMs <= 0)) problems.push('pullTimeoutMs must be positive');
  if (o.inputMode !== undefined && o.inputMode !== 'auto' && o.inputMode !== 'volume') problems.push("inputMode must be 'auto' or 'volume'");
  if (o.imageStateFile !== undefined && (typeof o.imageStateFile !== 'string' || !o.imageStateFile.startsWith('/'))) problems.push('imageStateFile must be an absolute path');
  if (o.inputDir !== undefined && (typeof o.inputDir !== 'string' || !o.inputDir.startsWith('/'))) problems.push('inputDir must be an absolute path');
  if (o.defaultPidsLimit !== undefined && (!Number.isInteger(o.defaultPidsLimit) || o.defaultPidsLimit < 8)) problems.push('defaultPidsLimit must be at least 8');
  if (problems.length > 0) throw new IronError('ERR_INVALID_ARGUMENT', `invalid sandbox options: ${problems.join('; ')}`);
}
