// Option values users write in several forms (seconds or durations, sizes with units).
import { parseDurationMs, parseSize } from '../config/units.js';
import type { Opts } from './args.js';

/** Seconds from "30", "1.5", "10m", "1h30m"; undefined when the option is absent. */
export function seconds(o: Opts, name: string, max: number): number | undefined {
  const v = o.str(name);
  if (v === undefined) return undefined;
  const ms = parseDurationMs(v);
  if (ms === undefined || ms < 0 || ms / 1000 > max) {
    throw o.fail(`--${name} must be a number of seconds or a duration like 90s or 10m, at most ${max} s (got ${JSON.stringify(v)})`);
  }
  return ms / 1000;
}

/** Bytes from "512M", "10G", "1048576"; undefined when absent. */
export function bytes(o: Opts, name: string): number | undefined {
  const v = o.str(name);
  if (v === undefined) return undefined;
  const n = parseSize(v);
  if (n === undefined || n <= 0) throw o.fail(`--${name} must be a size like 512M or 10G (got ${JSON.stringify(v)})`);
  return n;
}

/** Task priority 0..2 (IronWorker's three queues). */
export function priority(o: Opts, name: string): number | undefined {
  return o.int(name, 0, 2);
}

export function printJson(write: (s: string) => void, value: unknown): void {
  write(`${JSON.stringify(value, null, 2)}\n`);
}
