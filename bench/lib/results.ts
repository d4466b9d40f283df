// The machine-readable result every benchmark reports: bench/results/latest.json holds
// { "<metric>": { value, unit, target, ok }, "machine": {...} }.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Metric {
  value: number;
  unit: string;
  /** The target, when the issue sets one; `ok` says whether it was met. */
  target?: number;
  /** 'max': value must be <= target; 'min': value must be >= target. */
  direction?: 'max' | 'min';
  ok?: boolean;
}

export type Metrics = Record<string, Metric>;

export function metric(value: number, unit: string, target?: number, direction: 'max' | 'min' = 'max'): Metric {
  if (target === undefined) return { value, unit };
  return { value, unit, target, direction, ok: direction === 'max' ? value <= target : value >= target };
}

/** Merges `metrics` into the results file so that benchmarks run alone keep the others' latest values. */
export function writeResults(file: string, metrics: Metrics, machine: Record<string, unknown>): void {
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    previous = {};
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const merged = { ...previous, ...metrics, machine: { ...machine, written_at: new Date().toISOString() } };
  writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
}
