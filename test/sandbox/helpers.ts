// Shared fixtures for sandbox tests: a real engine, a per-file instance id and job network (so files
// can run in parallel), an output collector, and the check that nothing labelled is left behind.
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { taskResult } from '../../src/runner/outcome.js';
import { createDockerEngine, removeJobNetwork, Sandbox, type ContainerEngine, type OutputSink, type SandboxOptions, type SandboxOutcome, type TaskSpec } from '../../src/sandbox/index.js';
import { instanceFilter } from '../../src/sandbox/labels.js';

export const IMAGE = 'iron-test/busybox:1';
export const MiB = 1024 * 1024;

export interface Fixture {
  engine: ContainerEngine;
  sandbox: Sandbox;
  instanceId: string;
  network: NonNullable<SandboxOptions['network']>;
  cleanup(): Promise<void>;
}

/** `wrap` puts a stand-in between the sandbox and the real engine, for what the engine does only at times. */
export async function makeFixture(opts: Partial<SandboxOptions> = {}, wrap: (real: ContainerEngine) => ContainerEngine = (real) => real): Promise<Fixture> {
  const engine = wrap(createDockerEngine({}));
  const tag = randomBytes(3).toString('hex');
  const instanceId = `test-${tag}-${process.pid}`;
  const network = opts.network ?? { name: `irt-${tag}`, blockedTcpPorts: [25, 465, 587], blockedAddresses: ['169.254.169.254'] };
  const signal = AbortSignal.timeout(60_000);
  const sandbox = await Sandbox.create(engine, { instanceId, maxLogBytes: 1 * MiB, stopGraceMs: 2_000, ...opts, network }, silentLogger(), signal);
  return {
    engine,
    sandbox,
    instanceId,
    network,
    async cleanup() {
      const s = AbortSignal.timeout(60_000);
      await sandbox.reapOrphans(s);
      await removeJobNetwork(engine, network, s);
      await assertNothingLeft(engine, instanceId, network.name);
    },
  };
}

export async function assertNothingLeft(engine: ContainerEngine, instanceId: string, networkName?: string): Promise<void> {
  const s = AbortSignal.timeout(30_000);
  expect(await engine.containerList(instanceFilter(instanceId), s)).toEqual([]);
  expect(await engine.volumeList(instanceFilter(instanceId), s)).toEqual([]);
  if (networkName !== undefined) expect(await engine.networkInspect(networkName, s)).toBeUndefined();
}

export function spec(overrides: Partial<TaskSpec> & { command?: string[] }): TaskSpec {
  return {
    taskId: `t-${randomBytes(4).toString('hex')}`,
    image: IMAGE,
    env: {},
    payload: Buffer.alloc(0),
    config: '',
    limits: { memoryBytes: 64 * MiB },
    timeoutMs: 30_000,
    labels: {},
    ...overrides,
  };
}

/** A task's output, as a sink the prepared task writes to. */
export interface TaskOutput {
  onOutput: OutputSink;
}

/** An outcome as the runner reports it (status, msg; src/runner/outcome.ts) beside the sandbox's own. */
export type RunResult = SandboxOutcome & { status: string; msg: string };

/**
 * One task through both phases as the runner sequences them (prepare, start, wait, dispose); the
 * result is what the outcome reports. A `failed` outcome (the engine or the sandbox failed) rejects
 * with its error, so tests can assert on the error's code.
 */
export async function runTask(sandbox: Sandbox, task: TaskSpec, out: TaskOutput, signal: AbortSignal): Promise<RunResult> {
  const prepared = await sandbox.prepare(task, signal);
  const onAbort = (): void => prepared.stop('cancelled');
  signal.addEventListener('abort', onAbort, { once: true });
  let outcome: SandboxOutcome;
  try {
    if (prepared.runnable) await prepared.start(out.onOutput, signal);
    outcome = await prepared.wait();
  } finally {
    signal.removeEventListener('abort', onAbort);
    await prepared.dispose();
  }
  if (outcome.kind === 'failed') throw outcome.error;
  const r = taskResult(outcome);
  return { ...outcome, status: r.status, msg: r.msg };
}

export interface Collected extends TaskOutput {
  stdout(): string;
  stderr(): string;
  bytes(): number;
}

export function collector(): Collected {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  return {
    onOutput(chunk, stream) {
      (stream === 'stdout' ? out : err).push(Buffer.from(chunk));
    },
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => Buffer.concat(err).toString('utf8'),
    bytes: () => out.reduce((a, b) => a + b.length, 0) + err.reduce((a, b) => a + b.length, 0),
  };
}

export const sh = (script: string): string[] => ['sh', '-c', script];
export const never = (): AbortSignal => new AbortController().signal;
