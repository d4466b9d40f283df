// How a task ended, decided here once (src/runner/outcome.ts then decides what is reported).
// Order matters: our own decisions first (cancel, timeout: we killed it), then the engine's OOM
// flag, then the exit code. Exit 137 alone is never taken as OOM (a job can kill -9 itself); and
// OOMKilled with exit 0 is still OOM (a child was killed, the shell went on). A SIGTERM/SIGKILL exit
// (143/137) we did not cause is asked of the engine's event log: was it the engine?
import { formatSize } from '../config/units.js';
import type { ContainerEngine } from './engine.js';
import { engineMessageOf, statusOf } from './engine-errors.js';
import type { SandboxOutcome } from './types.js';

export interface ExitFacts {
  cancelled: boolean;
  timedOut: boolean;
  timeoutMs: number;
  memoryBytes: number;
  oomKilled: boolean;
  exitCode: number | null;
  /** First bytes of stderr: tini reports an exec failure there before exiting 127. */
  stderrHead: string;
}

/** An outcome without the run's measurements (the caller adds them). */
export type Verdict = SandboxOutcome extends infer O ? (O extends SandboxOutcome ? Omit<O, 'durationMs' | 'logBytes' | 'truncated' | 'usage'> : never) : never;

/** The exit status of SIGKILL (128+9), which is also how the kernel's OOM killer ends a process. */
export const SIGKILL_EXIT = 137;

/** Exit statuses of SIGTERM (128+15) and SIGKILL: a stop, ours or someone else's. */
const SIGNAL_EXITS: ReadonlySet<number> = new Set([SIGKILL_EXIT, 143]);

export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? `${s} s` : `${s.toFixed(s < 10 ? 1 : 0)} s`;
}

const TINI_EXEC_FAILED = /^\[FATAL tini \(\d+\)\] exec (.+?) failed: (.+)$/m;

/** "command not found: X" when PID 1 could not exec the job's command at all. */
export function execFailure(exitCode: number | null, stderrHead: string): string | undefined {
  if (exitCode !== 127 && exitCode !== 126) return undefined;
  const m = TINI_EXEC_FAILED.exec(stderrHead);
  if (m === null) return undefined;
  const cmd = m[1] ?? '';
  const why = (m[2] ?? '').trim();
  if (/no such file or directory/i.test(why)) return `command not found: ${cmd}`;
  return `command could not be executed: ${cmd}: ${why}`;
}

/** The outcome of a job that ran and stopped. `-1` (the engine reported no status) is an exit code too. */
export function classify(f: ExitFacts): Verdict {
  const exitCode = f.exitCode;
  if (f.cancelled) return { kind: 'cancelled', reason: 'cancelled', exitCode };
  if (f.timedOut) return { kind: 'timeout', reason: `timed out after ${formatSeconds(f.timeoutMs)}`, exitCode };
  if (f.oomKilled) return { kind: 'oom', reason: `out of memory (limit ${formatSize(f.memoryBytes)})`, exitCode };
  const code = exitCode ?? -1;
  if (code === 0) return { kind: 'exit', code, reason: '', exitCode: 0 };
  return { kind: 'exit', code, reason: execFailure(exitCode, f.stderrHead) ?? `exit code ${exitCode ?? 'unknown'}`, exitCode };
}

/** Whether an exit may be a stop the job did not do itself (asked of the engine by stopCause). */
export function maybeStoppedOutside(v: Verdict): boolean {
  return v.kind === 'exit' && SIGNAL_EXITS.has(v.code);
}

/**
 * A job that died of a SIGTERM/SIGKILL the sandbox did not send: was it the engine (its shutdown, or
 * an operator's docker stop/kill)? Reporting a bare "exit code 143" would blame the job. Undefined:
 * nothing outside the job stopped it.
 */
export async function stopCause(engine: ContainerEngine, containerId: string, sinceMs: number, v: Verdict, signal: AbortSignal): Promise<Verdict | undefined> {
  let actions: string[];
  try {
    actions = await engine.containerEvents(containerId, Math.floor(sinceMs / 1000) - 1, Math.ceil(Date.now() / 1000), signal);
  } catch {
    return { kind: 'stopped-by-engine', engineDown: true, reason: `docker engine stopped while the task ran (${v.reason})`, exitCode: v.exitCode };
  }
  if (!actions.includes('kill')) return undefined;
  return { kind: 'stopped-by-engine', engineDown: false, reason: `stopped by the docker engine, not by the job (engine shutdown, docker stop or docker kill; ${v.reason})`, exitCode: v.exitCode };
}

/** Start errors that are the job's fault (its command), not the engine's. */
export function startFailureMsg(engineMessage: string): string | undefined {
  const m = /exec: "([^"]*)": (executable file not found|stat [^:]*: no such file or directory|permission denied)/i.exec(engineMessage);
  if (m !== null) return m[2]?.toLowerCase().startsWith('permission') === true ? `command could not be executed: ${m[1] ?? ''}: permission denied` : `command not found: ${m[1] ?? ''}`;
  if (/no command specified/i.test(engineMessage)) return `no command: the image has no ENTRYPOINT/CMD and the task gives none`;
  return undefined;
}

/** A start failure with an HTTP status whose message blames the job's command; undefined otherwise. */
export function startRefusal(err: unknown): string | undefined {
  return statusOf(err) === undefined ? undefined : startFailureMsg(engineMessageOf(err));
}

/**
 * Create failures that end the task `error` with the engine's reason: any 4xx is the engine refusing
 * this container (bad request, 431 headers too large, missing image, conflict), which a retry
 * elsewhere cannot change, so it is never given back (issue 13 item 8a: such tasks were re-reserved
 * without end). 5xx and connection failures are the engine's trouble: undefined (failed, given back).
 */
export function createRefusal(err: unknown): string | undefined {
  const status = statusOf(err);
  if (status === undefined || status >= 500) return undefined;
  const m = engineMessageOf(err);
  if (status === 404) return `invalid image: ${m.slice(0, 300)}`;
  const start = startFailureMsg(m);
  if (start !== undefined) return start;
  if (/reference format|invalid reference/i.test(m)) return `invalid image: ${m.slice(0, 300)}`;
  return `the engine refused the task container (HTTP ${status}): ${m.slice(0, 300)}`;
}
