// Secret masking throughput (issue 13): 100 secrets of 4 KiB against job output, in MiB/s, for
// ordinary output (text with no secrets), output dense with secrets, and adversarial output that
// keeps the automaton deep (long secret prefixes, never completed), fed in 4 KiB chunks as the
// attach stream delivers it. Compared with Buffer.indexOf of one secret over the same bytes (the
// memchr-speed floor of any scan), so the figure means something on another machine.
import { randomBytes } from 'node:crypto';
import { SecretMasker } from '../src/runner/masker.js';
import { fmt } from './lib/stats.js';
import { metric, type Metrics } from './lib/results.js';

const SECRETS = 100;
const SECRET_BYTES = 4096;
const OUTPUT_BYTES = 64 * 1024 * 1024;
const CHUNK = 4096;

function secrets(): string[] {
  return Array.from({ length: SECRETS }, () => randomBytes(SECRET_BYTES * 0.75).toString('base64'));
}

function mibPerS(bytes: number, ms: number): number {
  return bytes / 1024 / 1024 / (ms / 1000);
}

/** MiB/s of masking `output` in CHUNK pieces (best of three runs). */
function measure(values: string[], output: Buffer): number {
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    const m = new SecretMasker(values);
    const t0 = performance.now();
    for (let i = 0; i < output.length; i += CHUNK) m.push(output.subarray(i, i + CHUNK));
    m.flush();
    best = Math.min(best, performance.now() - t0);
  }
  return mibPerS(output.length, best);
}

export async function benchMasker(print: (line: string) => void): Promise<Metrics> {
  const values = secrets();
  print(`masker: ${SECRETS} secrets of ${SECRET_BYTES / 1024} KiB, ${OUTPUT_BYTES / 1024 / 1024} MiB of output in ${CHUNK / 1024} KiB chunks`);
  const t0 = performance.now();
  const build = new SecretMasker(values);
  const buildMs = performance.now() - t0;
  build.flush();
  const line = Buffer.from('2026-12-01T10:00:00Z worker step 42 processed item 1234 ok (no secrets here)\n');
  const plain = Buffer.alloc(OUTPUT_BYTES);
  for (let i = 0; i < plain.length; i += line.length) line.copy(plain, i);
  const dense = Buffer.alloc(OUTPUT_BYTES);
  const unit = Buffer.from(`${values[0] ?? ''} and ${values[1] ?? ''}\n`);
  for (let i = 0; i < dense.length; i += unit.length) unit.copy(dense, i);
  const deep = Buffer.alloc(OUTPUT_BYTES);
  const prefix = Buffer.from(`${(values[2] ?? '').slice(0, SECRET_BYTES - 1)}#`);
  for (let i = 0; i < deep.length; i += prefix.length) prefix.copy(deep, i);

  let floorMs = Infinity;
  const needle = Buffer.from(values[3] ?? '');
  for (let run = 0; run < 3; run++) {
    const s = performance.now();
    plain.indexOf(needle);
    floorMs = Math.min(floorMs, performance.now() - s);
  }
  const floor = mibPerS(plain.length, floorMs);
  const rPlain = measure(values, plain);
  const rDense = measure(values, dense);
  const rDeep = measure(values, deep);
  print(`  automaton build: ${fmt(buildMs, 1)} ms`);
  print(`  plain output: ${fmt(rPlain, 1)} MiB/s; dense with secrets: ${fmt(rDense, 1)} MiB/s; adversarial (deep prefixes): ${fmt(rDeep, 1)} MiB/s`);
  print(`  Buffer.indexOf of one secret over the same bytes: ${fmt(floor, 0)} MiB/s`);
  return {
    masker_build_ms: metric(buildMs, 'ms'),
    // Target: above what the log pipeline ships per task (the logs benchmark: tens of MiB per task run).
    masker_plain_mib_s: metric(rPlain, 'MiB/s', 25, 'min'),
    masker_dense_mib_s: metric(rDense, 'MiB/s', 25, 'min'),
    masker_adversarial_mib_s: metric(rDeep, 'MiB/s', 25, 'min'),
    masker_indexof_floor_mib_s: metric(floor, 'MiB/s'),
  };
}
