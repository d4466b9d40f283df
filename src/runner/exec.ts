// `iron-runner exec`: one task through exactly the daemon's sandbox code path, for trying a worker
// image locally with production limits. Job stdout goes to stdout and job stderr to stderr, with
// back-pressure; the outcome is the last line on stderr, as JSON.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Writable } from 'node:stream';
import type { Env } from '../config/env.js';
import { IronError, isIronError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { createDockerEngine, Sandbox, type ContainerEngine, type SandboxOutcome } from '../sandbox/index.js';
import { openPackage, verifyPackage, type OpenedPackage } from '../zip/index.js';
import { EXEC_USAGE, parseExecArgs, type ExecRequest } from './exec-args.js';
import { taskResult } from './outcome.js';

export interface ExecDeps {
  env: Env;
  stdout: Writable;
  stderr: Writable;
  /** Aborting it cancels the task (main wires SIGINT/SIGTERM to it). */
  signal: AbortSignal;
  engine?: ContainerEngine;
  log?: Logger;
}

export async function runExec(argv: readonly string[], deps: ExecDeps): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    deps.stdout.write(EXEC_USAGE);
    return 0;
  }
  let req: Readonly<ExecRequest>;
  try {
    req = parseExecArgs(argv, deps.env);
  } catch (err) {
    deps.stderr.write(`${(err as Error).message}\n\n${EXEC_USAGE}`);
    return 2;
  }
  const log = deps.log ?? createLogger({ level: req.logLevel, name: 'iron-runner-exec', sync: true });
  try {
    const outcome = await execTask(req, deps, log);
    // The engine or the sandbox failed: said like any other failure of exec, with its code.
    if (outcome.kind === 'failed') throw outcome.error;
    const line = outcomeLine(outcome);
    deps.stderr.write(`${JSON.stringify(line)}\n`);
    return line['status'] === 'complete' ? 0 : 1;
  } catch (err) {
    const e = isIronError(err) ? err : new IronError('ERR_INTERNAL', 'unexpected failure', { cause: err });
    log.error({ err: e }, 'exec failed');
    deps.stderr.write(`${JSON.stringify({ status: 'error', msg: e.message, code: e.code, exit_code: null })}\n`);
    return 1;
  }
}

/** The outcome as the daemon would report it (outcome.ts), with what the run measured. */
export function outcomeLine(o: SandboxOutcome): Record<string, unknown> {
  const r = taskResult(o);
  return { status: r.status, msg: r.msg, exit_code: r.exitCode, duration_ms: o.durationMs, log_bytes: o.logBytes, truncated: o.truncated };
}

async function execTask(req: Readonly<ExecRequest>, deps: ExecDeps, log: Logger): Promise<SandboxOutcome> {
  const payload = req.payloadFile === undefined ? Buffer.alloc(0) : await readInput(req.payloadFile, '--payload-file');
  const config = req.configFile === undefined ? '' : (await readInput(req.configFile, '--config-file')).toString('utf8');
  const engine = deps.engine ?? createDockerEngine(req.dockerHost === undefined ? {} : { dockerHost: req.dockerHost });
  const instanceId = `exec-${hostname()
    .replace(/[^a-zA-Z0-9_.-]/g, '_')
    .slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const setup = AbortSignal.any([deps.signal, AbortSignal.timeout(60_000)]);
  // Refused exactly as an upload would be, before anything touches the engine.
  let pkg: OpenedPackage | undefined;
  if (req.zipFile !== undefined) {
    await verifyPackage(req.zipFile, req.zipLimits, deps.signal);
    pkg = await openPackage(req.zipFile, req.zipLimits);
  }
  let sandbox: Sandbox;
  try {
    sandbox = await Sandbox.create(engine, { instanceId, maxLogBytes: req.maxLogBytes, stopGraceMs: req.stopGraceMs }, log, setup);
  } catch (err) {
    pkg?.close();
    throw err;
  }
  try {
    const limits: { memoryBytes: number; diskBytes?: number; nanoCpus?: number; pidsLimit?: number } = { memoryBytes: req.memoryBytes };
    if (req.diskBytes !== undefined) limits.diskBytes = req.diskBytes;
    if (req.nanoCpus !== undefined) limits.nanoCpus = req.nanoCpus;
    if (req.pidsLimit !== undefined) limits.pidsLimit = req.pidsLimit;
    const prepared = await sandbox.prepare(
      {
        taskId: `exec-${randomBytes(6).toString('hex')}`,
        image: req.image,
        ...(req.command === undefined ? {} : { command: [...req.command] }),
        env: { ...req.env },
        payload,
        config,
        limits,
        timeoutMs: req.timeoutMs,
        labels: {},
        ...(pkg === undefined ? {} : { code: pkg }),
      },
      deps.signal,
    );
    // SIGINT/SIGTERM: the job is stopped (SIGTERM, grace, SIGKILL) and the outcome still printed.
    const onAbort = (): void => prepared.stop('cancelled');
    deps.signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (prepared.runnable) await prepared.start((chunk, stream) => write(stream === 'stdout' ? deps.stdout : deps.stderr, chunk), deps.signal);
      return await prepared.wait();
    } finally {
      deps.signal.removeEventListener('abort', onAbort);
      await prepared.dispose();
    }
  } finally {
    // dispose removed the task's objects; this catches anything a crash between steps left.
    await sandbox.reapOrphans(AbortSignal.timeout(30_000)).catch((err: unknown) => log.warn({ err }, 'cleanup failed'));
    pkg?.close();
  }
}

async function readInput(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'read error';
    throw new IronError('ERR_INVALID_ARGUMENT', `${flag} ${path} cannot be read: ${code}`, { cause: err });
  }
}

/** Writes with back-pressure: a slow terminal or pipe slows the job instead of filling our memory. */
function write(out: Writable, chunk: Buffer): Promise<void> | undefined {
  if (out.write(chunk)) return undefined;
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      out.off('error', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
    out.on('error', done);
  });
}
