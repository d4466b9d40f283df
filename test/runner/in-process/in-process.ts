// A Runner built in the test process the way the daemon builds it (config from env, the real
// sandbox on an engine socket, the real API client), so a test can drive its TaskRuns and Heartbeat
// and wait on its events. The API client is the real one, recorded: which finish reports it was
// asked to deliver, and how many reserve calls it made. Its heartbeats can be held back on their
// own (a network that drops only those requests is what no real proxy between the two gives on demand).
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createRunnerClient,
  RunnerApi,
  type CallOptions,
  type FinishRequest,
  type FinishWithLogRequest,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type LogAppendResponse,
  type ReserveRequest,
  type ReserveResponse,
  type WarmAnswer,
} from '../../../src/api/index.js';
import { IronError } from '../../../src/errors.js';
import { loadRunnerConfig, type RunnerConfig } from '../../../src/config/runner.js';
import { silentLogger } from '../../../src/log.js';
import { sandboxOptions } from '../../../src/runner/daemon.js';
import { RunnerEvents, type RunnerEventMap, type RunnerEventName } from '../../../src/runner/events.js';
import { loadInstanceId } from '../../../src/runner/instance.js';
import { subscribeLog } from '../../../src/runner/log-subscriber.js';
import { subscribeMetrics } from '../../../src/runner/metrics-subscriber.js';
import { RunnerMetrics } from '../../../src/runner/metrics.js';
import { Runner } from '../../../src/runner/runner.js';
import { createDockerEngine, Sandbox } from '../../../src/sandbox/index.js';
import { containersGone } from '../harness.js';

export interface Finish {
  taskId: string;
  reservationId: string;
  status: FinishRequest['status'];
}

/** Bytes of output a finish carried (log_tail), in the order the finishes were asked. */
export interface FinishTail {
  taskId: string;
  bytes: number;
}

/** The real client, with the calls the tests count recorded as they are made. */
class RecordedApi extends RunnerApi {
  readonly finishes: Finish[] = [];
  readonly finishTails: FinishTail[] = [];
  reserves = 0;
  appends = 0;
  heartbeatsFail = false;
  /** Log appends answered as delivered without being sent: an API that took bytes and lost them. */
  appendsLost = 0;

  override heartbeat(req: HeartbeatRequest, signal: AbortSignal, o?: CallOptions): Promise<HeartbeatResponse & WarmAnswer> {
    if (this.heartbeatsFail) return Promise.reject(new IronError('ERR_API_NETWORK', 'heartbeat held back by the test'));
    return super.heartbeat(req, signal, o);
  }

  override reserve(req: ReserveRequest, signal: AbortSignal, o?: CallOptions): Promise<ReserveResponse & WarmAnswer> {
    this.reserves++;
    return super.reserve(req, signal, o);
  }

  override finish(taskId: string, req: FinishRequest, signal: AbortSignal, o?: CallOptions): Promise<void> {
    this.finishes.push({ taskId, reservationId: req.reservation_id, status: req.status });
    this.finishTails.push({ taskId, bytes: 0 });
    return super.finish(taskId, req, signal, o);
  }

  override finishWithLog(taskId: string, req: FinishWithLogRequest, signal: AbortSignal, o?: CallOptions): Promise<void> {
    this.finishes.push({ taskId, reservationId: req.reservation_id, status: req.status });
    this.finishTails.push({ taskId, bytes: Buffer.from(req.log_tail.data, 'base64').length });
    return super.finishWithLog(taskId, req, signal, o);
  }

  override appendLog(taskId: string, offset: number, body: Uint8Array, signal: AbortSignal, o?: CallOptions & { reservationId?: string }): Promise<LogAppendResponse> {
    this.appends++;
    if (this.appendsLost > 0) {
      this.appendsLost--;
      return Promise.resolve({ size: offset + body.length });
    }
    return super.appendLog(taskId, offset, body, signal, o);
  }
}

/** Every event the runner emitted, in order, and a waiter that also sees the ones already past. */
export class EventRecord {
  private readonly seen: Array<{ name: RunnerEventName; event: unknown }> = [];
  private readonly waiters = new Set<() => void>();

  constructor(events: RunnerEvents) {
    events.onAny((name, event) => {
      this.seen.push({ name, event });
      for (const w of [...this.waiters]) w();
    });
  }

  of<K extends RunnerEventName>(name: K, match: (e: RunnerEventMap[K]) => boolean = () => true): Array<RunnerEventMap[K]> {
    return this.seen
      .filter((s) => s.name === name)
      .map((s) => s.event as RunnerEventMap[K])
      .filter(match);
  }

  /** Resolves with the `nth` (1-based) event of `name` that matches, past or future. */
  wait<K extends RunnerEventName>(name: K, match: (e: RunnerEventMap[K]) => boolean = () => true, opts: { nth?: number; timeoutMs?: number } = {}): Promise<RunnerEventMap[K]> {
    const nth = opts.nth ?? 1;
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.of(name, match)[nth - 1];
        if (found === undefined) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const last = this.seen
          .slice(-12)
          .map((s) => `${s.name} ${JSON.stringify(s.event)}`)
          .join('\n');
        reject(new Error(`runner event ${name} (#${nth}) not emitted within ${timeoutMs} ms; last events:\n${last}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}

export interface InProcessRunner {
  runner: Runner;
  config: Readonly<RunnerConfig>;
  instanceId: string;
  events: EventRecord;
  metrics: RunnerMetrics;
  /** Finish reports the runner asked its API client to deliver (give-backs included). */
  finishes: Finish[];
  finishTails: FinishTail[];
  reserves(): number;
  /** Log appends the runner made (lost ones included). */
  appends(): number;
  /** The next `n` log appends are answered as delivered but never reach the API. */
  loseAppends(n: number): void;
  /** While on, every heartbeat fails as on a network error; everything else goes through. */
  failHeartbeats(on: boolean): void;
  /** Subscriber failures (a log or metrics subscriber that threw): must stay empty. */
  listenerErrors: unknown[];
  /** Drains (the test's DRAIN_TIMEOUT bounds it), closes the client, removes what it left. */
  stop(): Promise<void>;
}

export interface InProcessOptions {
  apiUrl: string;
  clusterId: string;
  clusterToken: string;
  /** The engine's unix socket (a gate in front of the real one, or the real one). */
  engineSocket: string;
  network: string;
  env?: Record<string, string>;
}

export async function startInProcessRunner(o: InProcessOptions): Promise<InProcessRunner> {
  const jobsDir = mkdtempSync(path.join(tmpdir(), 'iron-inproc-runner-'));
  const config = loadRunnerConfig(
    {
      CLUSTER_ID: o.clusterId,
      CLUSTER_TOKEN: o.clusterToken,
      API_URL: o.apiUrl,
      JOBS_DIR: jobsDir,
      DOCKER_HOST: `unix://${o.engineSocket}`,
      JOB_NETWORK: o.network,
      CONCURRENCY: '1',
      MEMORY_PER_JOB: '64M',
      STOP_GRACE: '1s',
      POLL_WAIT: '5s',
      DRAIN_TIMEOUT: '2s',
      ...o.env,
    },
    { usableMemory: 1 << 30 },
  );
  const instanceId = await loadInstanceId(config.jobsDir, config.instanceId);
  const spoolDir = path.join(config.jobsDir, 'spool');
  await mkdir(spoolDir, { recursive: true, mode: 0o700 });
  const log = silentLogger();
  const listenerErrors: unknown[] = [];
  const events = new RunnerEvents((err) => listenerErrors.push(err));
  const record = new EventRecord(events);
  const metrics = new RunnerMetrics();
  // As in the daemon: every event also goes through the log and metrics subscribers.
  subscribeLog(events, log);
  subscribeMetrics(events, metrics);
  const engine = createDockerEngine({
    ...(config.dockerHost === undefined ? {} : { dockerHost: config.dockerHost }),
    callTimeoutMs: config.engineTimeoutMs,
    liveness: { intervalMs: config.enginePingIntervalMs, timeoutMs: config.enginePingTimeoutMs },
  });
  const sandbox = await Sandbox.create(engine, sandboxOptions(config, instanceId), log, AbortSignal.timeout(60_000));
  const client = createRunnerClient({ baseUrl: config.apiUrls, token: config.clusterToken, clusterId: config.clusterId });
  const api = new RecordedApi(client.http, config.clusterId);
  const runner = new Runner({ config, api, sandbox, instanceId, log, events, metrics, spoolDir });
  const life = new AbortController();
  await runner.start(AbortSignal.any([life.signal, AbortSignal.timeout(60_000)]));
  let stopped: Promise<void> | undefined;
  return {
    runner,
    config,
    instanceId,
    events: record,
    metrics,
    finishes: api.finishes,
    finishTails: api.finishTails,
    reserves: () => api.reserves,
    appends: () => api.appends,
    loseAppends: (n) => {
      api.appendsLost = n;
    },
    listenerErrors,
    failHeartbeats: (on) => {
      api.heartbeatsFail = on;
    },
    stop: () =>
      (stopped ??= (async () => {
        life.abort();
        await runner.drain();
        runner.abandon();
        await client.close();
        await containersGone(instanceId);
        rmSync(jobsDir, { recursive: true, force: true });
      })()),
  };
}
