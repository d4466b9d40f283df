// Per-task overhead of the sandbox (prepare, start, wait, dispose) against the floor: the raw Engine API cycle
// (create/start/wait/delete over the unix socket with node:http, no client library) on the same
// image, limits and network. Runs alternate so engine drift hits both sides alike.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { createLogger, silentLogger } from '../src/log.js';
import { createDockerEngine, removeJobNetwork, Sandbox, type SandboxNetworkOptions, type SandboxOutcome } from '../src/sandbox/index.js';
import { IMAGE, rawCycle, removeLabelled, SOCKET, type RawSpec } from './lib/raw-engine.js';

const MEMORY = 64 * 1024 * 1024;

interface Stats {
  p50: number;
  p95: number;
}

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? Number.NaN;
  return { p50: Math.round(at(0.5)), p95: Math.round(at(0.95)) };
}

/** `input`: how payload and config reach the job: the bind the runner uses on a shared filesystem, or the per-task volume. */
export async function benchSandboxOverhead(opts: { n: number; input: 'bind' | 'volume'; log?: Logger }): Promise<{ oursMs: Stats; rawMs: Stats; ratio: number }> {
  const log = opts.log ?? silentLogger();
  const engine = createDockerEngine({ socketPath: SOCKET });
  const tag = randomBytes(3).toString('hex');
  const network: SandboxNetworkOptions = { name: `irb-${tag}`, blockedTcpPorts: [25, 465, 587], blockedAddresses: ['169.254.169.254'] };
  const dir = mkdtempSync(path.join(tmpdir(), 'iron-bench-input-'));
  const sandbox = await Sandbox.create(
    engine,
    {
      instanceId: `bench-${tag}`,
      maxLogBytes: 1024 * 1024,
      stopGraceMs: 5_000,
      network,
      inputDir: dir,
      inputMode: opts.input === 'bind' ? 'auto' : 'volume',
    },
    log,
    AbortSignal.timeout(60_000),
  );
  const ours: number[] = [];
  const raw: number[] = [];
  const rawSpec: RawSpec = { network: network.name, memoryBytes: MEMORY, cmd: ['true'], label: `sandbox-${tag}` };
  try {
    // One warm-up each: first-use costs (page cache, network setup) are not per-task overhead.
    await rawCycle(rawSpec);
    const task = (i: number) => ({
      taskId: `bench-${tag}-${i}`,
      image: IMAGE,
      command: ['true'],
      env: {},
      payload: Buffer.alloc(0),
      config: '',
      limits: { memoryBytes: MEMORY },
      timeoutMs: 60_000,
      labels: {},
    });
    // Both phases as the runner sequences them, the removal included (as the raw cycle's delete).
    const runOnce = async (i: number): Promise<SandboxOutcome> => {
      const prepared = await sandbox.prepare(task(i), AbortSignal.timeout(60_000));
      try {
        if (prepared.runnable) await prepared.start(() => undefined, AbortSignal.timeout(60_000));
        return await prepared.wait();
      } finally {
        await prepared.dispose();
      }
    };
    await runOnce(-1);
    if (sandbox.inputMode !== opts.input) throw new Error(`sandbox bench wanted ${opts.input} input, the sandbox chose ${sandbox.inputMode ?? 'nothing'}`);
    for (let i = 0; i < opts.n; i++) {
      const t0 = performance.now();
      const out = await runOnce(i);
      if (out.kind !== 'exit' || out.code !== 0) throw new Error(`bench task ${out.kind}: ${out.reason}`);
      ours.push(performance.now() - t0);
      raw.push(await rawCycle(rawSpec));
    }
  } finally {
    await removeLabelled(rawSpec.label).catch(() => undefined);
    await sandbox.reapOrphans(AbortSignal.timeout(30_000));
    await removeJobNetwork(engine, network, AbortSignal.timeout(30_000));
    rmSync(dir, { recursive: true, force: true });
  }
  const oursMs = stats(ours);
  const rawMs = stats(raw);
  const result = { oursMs, rawMs, ratio: Math.round((oursMs.p50 / rawMs.p50) * 100) / 100 };
  log.info(result, 'sandbox overhead');
  return result;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = Number(process.argv[2] ?? '30');
  const input = process.argv[3] === 'volume' ? 'volume' : 'bind';
  benchSandboxOverhead({ n: Number.isInteger(n) && n > 0 ? n : 30, input, log: createLogger({ level: 'warn' }) }).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
