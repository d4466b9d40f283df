// The whole system under test, as in production: iron-api and iron-runner as real processes from
// dist/, the real Docker engine, and the bench's pass-through proxy between them. stop() removes
// everything it made: processes, the runner's containers (by instance label), its job network and
// egress rules, temp dirs.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createIronClient, type IronClient } from '../../src/api/index.js';
import { createDockerEngine, LABEL_INSTANCE, removeJobNetwork } from '../../src/sandbox/index.js';
import { startApiProcess, type ApiProc } from './api-proc.js';
import { watchCreates, type EngineEvents } from './events.js';
import { ROOT, stopProcess } from './proc.js';
import { startProxy, type RunnerProxy } from './proxy.js';
import { engineApi, IMAGE } from './raw-engine.js';

export interface StackOptions {
  concurrency: number;
  memoryPerJob?: string;
  /** Long-poll wait the runner asks for, e.g. '30s'. */
  pollWait?: string;
  metricsPort?: number;
  /** Further runner settings (e.g. MAX_LOG_SIZE). */
  env?: Record<string, string>;
}

export interface Stack {
  api: ApiProc;
  proxy: RunnerProxy;
  client: IronClient;
  events: EngineEvents;
  runner: ChildProcess;
  runnerPid: number;
  instanceId: string;
  network: string;
  /** Registers `name` as the busybox image running `command`. */
  register(name: string, command: string): Promise<void>;
  /** Queues `n` tasks of `codeName` in one call; returns their ids and when the call returned (epoch ms). */
  queue(codeName: string, n: number): Promise<string[]>;
  stop(): Promise<void>;
}

const BLOCKED = { blockedTcpPorts: [25, 465, 587], blockedAddresses: ['169.254.169.254'] };
/** As docker/runner-entrypoint.sh starts the runner (docs/operations.md, "Memory of the runner process"). */
const RUNNER_NODE_FLAGS = ['--max-semi-space-size=1'];

export async function startStack(o: StackOptions): Promise<Stack> {
  const tag = randomBytes(4).toString('hex');
  const instanceId = `bench-${tag}`;
  const network = `irb${tag}`;
  const jobsDir = mkdtempSync(path.join(tmpdir(), 'iron-bench-runner-'));
  const cleanups: Array<() => Promise<void>> = [async () => rmSync(jobsDir, { recursive: true, force: true })];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const api = await startApiProcess();
    cleanups.push(() => api.stop());
    const proxy = await startProxy(api.url);
    cleanups.push(() => proxy.close());
    const client = createIronClient({ baseUrl: api.url, token: api.projectToken, projectId: api.projectId });
    cleanups.push(() => client.close());
    const events = await watchCreates(instanceId);
    cleanups.push(async () => events.close());
    cleanups.push(async () => {
      await reapInstance(instanceId);
      await removeJobNetwork(createDockerEngine(), { name: network, ...BLOCKED }, AbortSignal.timeout(20_000));
    });
    const runner = spawn(process.execPath, [...RUNNER_NODE_FLAGS, path.join(ROOT, 'dist/src/runner/main.js')], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        CLUSTER_ID: api.clusterId,
        CLUSTER_TOKEN: api.clusterToken,
        API_URL: proxy.url,
        JOBS_DIR: jobsDir,
        INSTANCE_ID: instanceId,
        CONCURRENCY: String(o.concurrency),
        MEMORY_PER_JOB: o.memoryPerJob ?? '64M',
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
        JOB_NETWORK: network,
        POLL_WAIT: o.pollWait ?? '30s',
        STOP_GRACE: '2s',
        DRAIN_TIMEOUT: '5s',
        ...(o.metricsPort === undefined ? {} : { METRICS_ADDR: `127.0.0.1:${o.metricsPort}` }),
        ...o.env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    cleanups.push(() => stopProcess(runner, 20_000));
    await untilPolling(runner);
    if (runner.pid === undefined) throw new Error('iron-runner has no pid');
    return {
      api,
      proxy,
      client,
      events,
      runner,
      runnerPid: runner.pid,
      instanceId,
      network,
      stop,
      async register(name, command) {
        await client.project.registerCode({ name, image: IMAGE, command }, AbortSignal.timeout(10_000));
      },
      async queue(codeName, n) {
        const specs = Array.from({ length: n }, () => ({ code_name: codeName, payload: '', cluster: api.clusterId }));
        return client.project.queueTasks(specs, AbortSignal.timeout(30_000));
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Resolves once the runner emits `api.connected` (its startup checks passed; it polls now). */
function untilPolling(runner: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let tail = '';
    const timer = setTimeout(() => reject(new Error(`iron-runner not polling within 30 s:\n${tail}`)), 30_000);
    const onData = (c: Buffer): void => {
      tail = (tail + c.toString()).slice(-4000);
      if (tail.split('\n').some(isConnected)) {
        clearTimeout(timer);
        runner.stderr?.off('data', onData);
        // Keep draining stderr so the runner never blocks on a full pipe.
        runner.stderr?.resume();
        resolve();
      }
    };
    runner.stderr?.on('data', onData);
    runner.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`iron-runner exited with ${code ?? 'signal'}:\n${tail}`));
    });
  });
}

/** One JSON log line of the runner's `api.connected` event (a partial line at the tail is not). */
function isConnected(line: string): boolean {
  if (!line.includes('"api.connected"')) return false;
  try {
    return (JSON.parse(line) as { event?: unknown }).event === 'api.connected';
  } catch {
    return false;
  }
}

/** Removes containers and volumes the runner instance left (it removes its own; this is the safety net). */
async function reapInstance(instanceId: string): Promise<void> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${LABEL_INSTANCE}=${instanceId}`] }));
  const list = await engineApi('GET', `/containers/json?all=1&filters=${filters}`);
  for (const c of (list.json as { Id: string }[] | null) ?? []) await engineApi('DELETE', `/containers/${c.Id}?force=1&v=1`);
  const vols = await engineApi('GET', `/volumes?filters=${filters}`);
  for (const v of (vols.json as { Volumes?: { Name: string }[] } | null)?.Volumes ?? []) await engineApi('DELETE', `/volumes/${v.Name}`);
}
