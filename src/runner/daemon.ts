// `iron-runner` with no subcommand: the hybrid runner daemon.
// Lifecycle (architecture §7): validate config -> check engine -> reap own orphans -> check cluster ->
// poll. First SIGTERM/SIGINT drains; a second gives running tasks back at once; the process always
// exits within a bounded time, 0 after a clean drain.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { POLL_BACKOFF, backoff, createRunnerClient } from '../api/index.js';
import type { Env } from '../config/env.js';
import { describeApi, loadRunnerConfig, type RunnerConfig } from '../config/runner.js';
import { formatSize } from '../config/units.js';
import { isIronError, toError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { createDockerEngine, Sandbox, type SandboxOptions } from '../sandbox/index.js';
import { RunnerEvents } from './events.js';
import { startHealthServer } from './health.js';
import { subscribeLog } from './log-subscriber.js';
import { subscribeMetrics } from './metrics-subscriber.js';
import { readinessProbe } from './readiness.js';
import { loadInstanceId } from './instance.js';
import { RunnerMetrics } from './metrics.js';
import { Runner } from './runner.js';
import { VERSION } from '../version.js';

/**
 * Calls other than the reserve long-poll (which sets its own) answer within seconds; a replica that
 * sends no headers for this long is treated as gone and the call fails over to the next one.
 */
const RUNNER_HEADERS_TIMEOUT_MS = 30_000;

export interface DaemonIO {
  env: Env;
  stderr: NodeJS.WritableStream;
  isTty: boolean;
  /** Where signals come from (the process; tests pass an emitter). */
  signals: NodeJS.EventEmitter;
}

export async function runDaemon(io: DaemonIO): Promise<number> {
  let config: Readonly<RunnerConfig>;
  try {
    config = loadRunnerConfig(io.env, { isTty: io.isTty });
  } catch (err) {
    if (isIronError(err, 'ERR_CONFIG_INVALID')) {
      io.stderr.write(`iron-runner: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel, pretty: config.logPretty, name: 'iron-runner' });
  try {
    return await runWithConfig(config, log, io);
  } catch (err) {
    log.fatal({ err: toError(err) }, 'iron-runner stopped');
    return 1;
  } finally {
    log.flush();
  }
}

async function runWithConfig(config: Readonly<RunnerConfig>, log: Logger, io: DaemonIO): Promise<number> {
  const life = new AbortController();
  // One event stream for the whole daemon: the log and the metrics subscribe before anything emits.
  const events = new RunnerEvents((err, name) => log.error({ err: toError(err), event: name }, 'a runner event subscriber failed'));
  const metrics = new RunnerMetrics();
  subscribeLog(events, log);
  subscribeMetrics(events, metrics);
  let signals = 0;
  let runner: Runner | undefined;
  const onSignal = (sig: string): void => {
    signals++;
    events.emit('runner.signal', { signal: sig, count: signals });
    if (signals === 1) {
      life.abort();
      void runner?.drain();
      // Even if the API stays unreachable, reports are abandoned after drain + grace, so we always exit.
      setTimeout(() => runner?.abandon(), config.drainTimeoutMs + config.stopGraceMs + 30_000).unref();
    } else {
      runner?.giveBackAll('second signal');
      // A hard bound: reports get the stop grace plus a little to be delivered, then we go.
      setTimeout(() => {
        runner?.abandon();
      }, config.stopGraceMs + 5_000).unref();
    }
  };
  io.signals.on('SIGTERM', onSignal);
  io.signals.on('SIGINT', onSignal);
  try {
    const instanceId = await loadInstanceId(config.jobsDir, config.instanceId);
    const spoolDir = path.join(config.jobsDir, 'spool');
    await mkdir(spoolDir, { recursive: true, mode: 0o700 });
    events.emit('runner.starting', {
      version: VERSION,
      instanceId,
      clusterId: config.clusterId,
      api: describeApi(config),
      concurrency: config.concurrency,
      concurrencyFrom: config.concurrencyDerived ? 'memory' : 'CONCURRENCY',
      memoryPerJob: formatSize(config.memoryPerJob),
      jobsMemory: formatSize(config.jobsMemory),
      encryptedPayloads: config.decryptionKey !== undefined,
    });

    const engineAddress = config.dockerHost ?? 'unix:///var/run/docker.sock';
    let sandbox: Sandbox | undefined;
    const engineWait: { error?: string } = {};
    // Before anything that waits: health and readiness answer while the engine is still coming up.
    const health =
      config.metricsAddr === undefined
        ? undefined
        : await startHealthServer(
            config.metricsAddr,
            metrics,
            readinessProbe({
              engineAddress,
              runner: () => runner,
              ping: () => {
                const s = sandbox;
                return s === undefined ? undefined : (signal) => s.ping(signal);
              },
              engineWaitError: () => engineWait.error,
            }),
            events,
          );
    const client = createRunnerClient({
      baseUrl: config.apiUrls,
      headersTimeoutMs: RUNNER_HEADERS_TIMEOUT_MS,
      onFailover: (e) => events.emit('api.failover', e),
      token: config.clusterToken,
      clusterId: config.clusterId,
      extraCa: config.apiCa,
      proxy: config.proxy,
      userAgent: `iron-runner/${VERSION}`,
      log,
    });
    try {
      const engine = createDockerEngine({
        ...(config.dockerHost === undefined ? {} : { dockerHost: config.dockerHost }),
        callTimeoutMs: config.engineTimeoutMs,
        liveness: { intervalMs: config.enginePingIntervalMs, timeoutMs: config.enginePingTimeoutMs },
      });
      sandbox = await createSandbox(engine, config, instanceId, { log, events }, life.signal, engineAddress, engineWait);
      if (sandbox === undefined) return 0;
      runner = new Runner({ config, api: client.runner, sandbox, instanceId, log, events, metrics, spoolDir });
      try {
        await runner.start(life.signal);
        await untilAborted(life.signal);
      } catch (err) {
        if (!life.signal.aborted) throw err;
      }
      await runner.drain();
    } finally {
      await health?.close();
      await client.close();
    }
    events.emit('runner.stopped', {});
    return 0;
  } finally {
    io.signals.off('SIGTERM', onSignal);
    io.signals.off('SIGINT', onSignal);
  }
}

/** The engine may start after us (the image's own dockerd): wait for it, bounded only by a signal. */
/** What the sandbox is created with, from the runner's config (also used by in-process runner tests). */
export function sandboxOptions(config: Readonly<RunnerConfig>, instanceId: string, events?: RunnerEvents): SandboxOptions {
  return {
    instanceId,
    ...(events === undefined ? {} : { notices: { imagePulled: (e) => events.emit('image.pulled', e), imagesEvicted: (e) => events.emit('image.evicted', e) } }),
    maxLogBytes: config.maxLogSize,
    stopGraceMs: config.stopGraceMs,
    defaultPidsLimit: config.pidsPerJob,
    manageEgressRules: config.manageEgressRules,
    inputMode: config.jobInput,
    inputDir: path.join(config.jobsDir, 'input'),
    network: { name: config.jobNetwork, blockedTcpPorts: [...config.blockedTcpPorts], blockedAddresses: [...config.blockedAddresses] },
    ...(config.imageCacheBytes === undefined ? {} : { imageCacheBytes: config.imageCacheBytes }),
    pullTimeoutMs: config.pullTimeoutMs,
    imageStateFile: path.join(config.jobsDir, 'private-images.json'),
  };
}

async function createSandbox(
  engine: ReturnType<typeof createDockerEngine>,
  config: Readonly<RunnerConfig>,
  instanceId: string,
  out: { log: Logger; events: RunnerEvents },
  signal: AbortSignal,
  engineAddress: string,
  wait: { error?: string },
): Promise<Sandbox | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await Sandbox.create(engine, sandboxOptions(config, instanceId, out.events), out.log, signal);
    } catch (err) {
      if (signal.aborted) return undefined;
      if (!isIronError(err) || !err.retryable) throw err;
      wait.error = `${err.message} (${err.code})`;
      out.events.emit('engine.waiting', { code: err.code, reason: err.message, engine: engineAddress, attempt });
      await backoff(attempt, POLL_BACKOFF, signal).catch(() => undefined);
    }
  }
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
