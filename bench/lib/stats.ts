// Small statistics helpers shared by the benchmarks.

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  mean: number;
  min: number;
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return { n: s.length, p50: at(0.5), p95: at(0.95), mean, min: s[0] ?? Number.NaN };
}

/** Milliseconds since an arbitrary origin, with sub-microsecond resolution. */
export function nowMs(): number {
  return performance.now();
}

/** Runs `fn` until `minMs` have passed (at least `minRuns` times); returns per-run milliseconds. */
export function sampleSync(fn: () => void, minMs: number, minRuns = 5): number[] {
  const out: number[] = [];
  const start = nowMs();
  while (out.length < minRuns || nowMs() - start < minMs) {
    const t = nowMs();
    fn();
    out.push(nowMs() - t);
  }
  return out;
}

export function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

/** The q-quantile (0..1) of the samples, nearest rank; NaN when there are none. */
export function quantile(samples: readonly number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
}
