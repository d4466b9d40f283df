// Process helpers: the repository root, bounded child stops, and RSS / CPU readings from /proc.
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (bench runs from dist/bench/lib/*.js). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const TICKS_PER_S = 100;

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(proc: ChildProcess, graceMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Resident set size in bytes, or NaN when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] === undefined ? Number.NaN : Number(m[1]) * 1024;
  } catch {
    return Number.NaN;
  }
}

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") ".
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds of a process tree rooted at `pid` (a PostgreSQL postmaster and its backends): the root's
 * own and its reaped children's (cutime + cstime: backends of closed connections), plus every live
 * child's. NaN when the root is gone.
 */
export function treeCpuSeconds(pid: number): number {
  const fields = (p: number | string): string[] | undefined => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    } catch {
      return undefined;
    }
  };
  const root = fields(pid);
  if (root === undefined) return Number.NaN;
  // Fields from the state (index 0): ppid 1, utime 11, stime 12, cutime 13, cstime 14.
  let ticks = Number(root[11]) + Number(root[12]) + Number(root[13]) + Number(root[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === pid) continue;
    const f = fields(entry);
    if (f !== undefined && Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / TICKS_PER_S;
}

/** Samples RSS every `everyMs` until stopped; reports the peak. */
export function rssSampler(pid: number, everyMs = 50): { stop(): { peak: number; last: number } } {
  let peak = rssBytes(pid);
  let last = peak;
  const timer = setInterval(() => {
    last = rssBytes(pid);
    if (last > peak) peak = last;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { peak, last };
    },
  };
}

export const MiB = 1024 * 1024;
