// Outcome classification. Order matters: our own decisions first (cancel, timeout: we killed it),
// then the engine's OOM flag, then the exit code. Exit 137 alone is never taken as OOM (a job can
// kill -9 itself); and OOMKilled with exit 0 is still OOM (a child was killed, the shell went on).
import { formatSize } from '../config/units.js';
import type { TaskOutcome } from './types.js';

export interface OutcomeFacts {
  cancelled: boolean;
  timedOut: boolean;
  timeoutMs: number;
  memoryBytes: number;
  oomKilled: boolean;
  exitCode: number | null;
  /** First bytes of stderr: tini reports an exec failure there before exiting 127. */
  stderrHead: string;
}

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

export function classify(f: OutcomeFacts): Pick<TaskOutcome, 'status' | 'msg' | 'exitCode'> {
  if (f.cancelled) return { status: 'cancelled', msg: 'cancelled', exitCode: f.exitCode };
  if (f.timedOut) return { status: 'timeout', msg: `timed out after ${formatSeconds(f.timeoutMs)}`, exitCode: f.exitCode };
  if (f.oomKilled) return { status: 'killed', msg: `out of memory (limit ${formatSize(f.memoryBytes)})`, exitCode: f.exitCode };
  if (f.exitCode === 0) return { status: 'complete', msg: '', exitCode: 0 };
  const exec = execFailure(f.exitCode, f.stderrHead);
  if (exec !== undefined) return { status: 'error', msg: exec, exitCode: f.exitCode };
  return { status: 'error', msg: `exit code ${f.exitCode ?? 'unknown'}`, exitCode: f.exitCode };
}

/** Start errors that are the job's fault (its command), not the engine's. */
export function startFailureMsg(engineMessage: string): string | undefined {
  const m = /exec: "([^"]*)": (executable file not found|stat [^:]*: no such file or directory|permission denied)/i.exec(engineMessage);
  if (m !== null) return m[2]?.toLowerCase().startsWith('permission') === true ? `command could not be executed: ${m[1] ?? ''}: permission denied` : `command not found: ${m[1] ?? ''}`;
  if (/no command specified/i.test(engineMessage)) return `no command: the image has no ENTRYPOINT/CMD and the task gives none`;
  return undefined;
}
