// End-to-end harness: a real iron-api in-process (port 0, temp SQLite data dir), real iron-runner
// processes spawned from dist/, the real Docker engine. Everything it starts is stopped and removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TaskInfo } from '../../src/api/index.js';
import { isIronError } from '../../src/errors.js';
import type { RunnerEventName } from '../../src/runner/events.js';
import { createDockerEngine, LABEL_INSTANCE, LABEL_TASK, removeJobNetwork } from '../../src/sandbox/index.js';
import { LABEL_ROLE } from '../../src/sandbox/labels.js';
import { REPO_ROOT } from '../helpers/vectors.js';
import { removeLabelled, testDocker } from '../helpers/docker.js';
import { parseStrictJson } from '../helpers/strict-json.js';
import { startApi as startTestApi, type Api, type StartApiOptions as ApiOptions } from '../helpers/api.js';
import { TEST_IMAGE } from '../helpers/queue.js';
import { waitFor } from '../helpers/wait.js';

export const RUNNER_MAIN = path.join(REPO_ROOT, 'dist/src/runner/main.js');
const FINAL = new Set(['complete', 'error', 'cancelled', 'timeout', 'killed']);

export type { Api } from '../helpers/api.js';

export interface StartApiOptions extends Omit<ApiOptions, 'overrides'> {
  leaseMs?: number;
  /** Lease losses before a task ends "runner lost" (MAX_ATTEMPTS, default 3). */
  maxAttempts?: number;
}

/** The in-process iron-api of test/helpers/api.ts with the overrides runner tests make. */
export function startApi({ leaseMs, maxAttempts, ...opts }: StartApiOptions = {}): Promise<Api> {
  const overrides = { ...(leaseMs === undefined ? {} : { leaseMs }), ...(maxAttempts === undefined ? {} : { maxAttempts }) };
  return startTestApi({ ...opts, overrides });
}

export interface RunnerProc {
  proc: ChildProcess;
  jobsDir: string;
  lines: Array<Record<string, unknown>>;
  stderr: string[];
  /** JSON lines that a duplicate-key-rejecting parser refused (with why): must stay empty. */
  duplicateKeys: string[];
  exited: Promise<number | null>;
  /**
   * The first log line of runner event `name` (its `event` field, src/runner/events.ts) that matches,
   * already written or still to come. Lines carry the event's fields as logged (`task_id`, `why`, ...).
   */
  waitForEvent(name: RunnerEventName, match?: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Every line of runner event `name` so far, in order (for replays). */
  eventLines(name: RunnerEventName): Array<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A unique job network per test file, so parallel files never share iptables state. */
export function uniqueNetwork(): string {
  return `irt${randomBytes(4).toString('hex')}`;
}

export function spawnRunner(api: Api, env: Record<string, string> = {}, jobsDir?: string): RunnerProc {
  const dir = jobsDir ?? mkdtempSync(path.join(tmpdir(), 'iron-e2e-runner-'));
  const proc = spawn(process.execPath, [RUNNER_MAIN], {
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      CLUSTER_ID: api.clusterId,
      CLUSTER_TOKEN: api.clusterToken,
      API_URL: api.url,
      JOBS_DIR: dir,
      CONCURRENCY: '4',
      MEMORY_PER_JOB: '64M',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'json',
      STOP_GRACE: '2s',
      POLL_WAIT: '5s',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  const duplicateKeys: string[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      stderr.push(line);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
        try {
          parseStrictJson(line);
        } catch (err) {
          duplicateKeys.push(`${(err as Error).message}: ${line}`);
        }
      } catch {
        // non-JSON output (config errors) stays in stderr
      }
      for (const w of waiters) w();
    }
  });
  proc.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const waitForLine = (match: (line: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = lines.find(match);
        if (found !== undefined) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${what} not seen within ${timeoutMs} ms; last lines:\n${stderr.slice(-15).join('\n')}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return {
    proc,
    jobsDir: dir,
    lines,
    stderr,
    duplicateKeys,
    exited,
    waitForEvent(name, match = () => true, timeoutMs = 30_000) {
      return waitForLine((l) => l['event'] === name && match(l), timeoutMs, `runner event ${name}`);
    },
    eventLines(name) {
      return lines.filter((l) => l['event'] === name);
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const code = await exited;
      // A killed runner cannot stop its jobs: a flood job of a failed test ran on for two hours once.
      // Remove what carries its instance id (a SIGTERM stop is the runner's own to clean up).
      const instanceId = lines.find((l) => l['event'] === 'runner.starting')?.['instance_id'];
      if (signal === 'SIGKILL' && typeof instanceId === 'string') await removeLabelled(testDocker(), LABEL_INSTANCE, instanceId);
      return code;
    },
  };
}

export async function registerImage(api: Api, name: string, command?: string, extra: Record<string, unknown> = {}): Promise<void> {
  await api.client.project.registerCode({ name, image: TEST_IMAGE, ...(command === undefined ? {} : { command }), ...extra }, AbortSignal.timeout(10_000));
}

export async function waitForTask(api: Api, id: string, statuses: ReadonlySet<string> = FINAL, timeoutMs = 60_000): Promise<TaskInfo> {
  let last: TaskInfo | undefined;
  return waitFor(
    () => `task ${id} to reach ${[...statuses].join('|')} (last: ${last?.status ?? 'unknown'})`,
    async () => {
      try {
        last = await api.client.project.getTask(id, AbortSignal.timeout(5_000));
        return statuses.has(last.status) && last;
      } catch {
        return undefined; // the API may be restarting in some tests
      }
    },
    { timeoutMs },
  );
}

/** The task's stored log; '' only when it has none (404). Any other failure throws: a log that could not be read is not an empty log. */
export async function taskLog(api: Api, id: string): Promise<string> {
  try {
    return (await api.client.project.getTaskLog(id, AbortSignal.timeout(30_000))).toString();
  } catch (err) {
    if (isIronError(err, 'ERR_API_NOT_FOUND')) return '';
    throw err;
  }
}

/**
 * Waits until the task is `running` in the API and its job container runs on the engine. The runner
 * calls the API's start while it creates the container, so `running` alone can precede the container.
 */
export async function waitForJobRunning(api: Api, id: string, timeoutMs = 60_000): Promise<void> {
  await waitForTask(api, id, new Set(['running']), timeoutMs);
  await waitFor(
    `the job container of ${id} to run`,
    async () => {
      const list = await testDocker().listContainers({ filters: { label: [`${LABEL_TASK}=${id}`, `${LABEL_ROLE}=job`], status: ['running'] } });
      return list.length > 0;
    },
    { timeoutMs, everyMs: 50 },
  );
}

/** Containers this runner instance (by jobs dir's instance id) left on the engine; `role: 'job'` counts job containers only. */
export async function containersOf(instanceId: string, role?: 'job'): Promise<number> {
  const label = [`${LABEL_INSTANCE}=${instanceId}`, ...(role === undefined ? [] : [`${LABEL_ROLE}=${role}`])];
  const list = await testDocker().listContainers({ all: true, filters: { label } });
  return list.length;
}

/**
 * Waits until the instance has no containers left (the runner removes a task's container right
 * after reporting its outcome, so "complete" in the API can precede the removal); returns what is left.
 */
export async function containersGone(instanceId: string, timeoutMs = 30_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const n = await containersOf(instanceId);
    if (n === 0 || Date.now() > until) return n;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Removes a test job network and the egress rules the sandbox installed for it. After kill -9 rounds
 * dockerd can keep a stale endpoint for a while ("has active endpoints"): retry, then say so rather
 * than fail a suite whose assertions passed (the engine, not the runner, holds it).
 */
export async function removeNetwork(name: string): Promise<void> {
  const n = { name, blockedTcpPorts: [25, 465, 587], blockedAddresses: ['169.254.169.254'] };
  for (let attempt = 1; ; attempt++) {
    try {
      await removeJobNetwork(createDockerEngine(), n, AbortSignal.timeout(20_000));
      return;
    } catch (err) {
      if (!/active endpoints/.test(String((err as Error).message)) || attempt >= 20) {
        if (/active endpoints/.test(String((err as Error).message))) {
          console.warn(`test cleanup: dockerd still holds a stale endpoint on ${name}; left for the engine to drop`);
          return;
        }
        throw err;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Streams the engine's container events for sandbox objects while a test runs (dockerd keeps only
 * ~256 past events, so a later `since` query can miss them). stop() returns task id -> job container actions.
 */
export async function watchContainerEvents(): Promise<{ stop(): Promise<Map<string, string[]>> }> {
  const stream = (await testDocker().getEvents({ filters: { type: ['container'], label: [LABEL_TASK] } })) as NodeJS.ReadableStream & { destroy(): void };
  const byTask = new Map<string, string[]>();
  let buf = '';
  stream.on('data', (c: Buffer) => {
    buf += c.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim() === '') continue;
      const e = JSON.parse(line) as { Action: string; Actor?: { Attributes?: Record<string, string> } };
      const task = e.Actor?.Attributes?.[LABEL_TASK];
      // Only job containers: each task also has a never-started helper that fills its input volume.
      if (task === undefined || e.Actor?.Attributes?.[LABEL_ROLE] !== 'job') continue;
      const list = byTask.get(task) ?? [];
      list.push(e.Action);
      byTask.set(task, list);
    }
  });
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 300));
      stream.destroy();
      return byTask;
    },
  };
}
