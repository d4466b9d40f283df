// 3. Throughput: trivial tasks through iron-api + iron-runner at CONCURRENCY 1, 2, 4, 8 against raw
// engine cycles with the same parallelism. Per level, 200 of our tasks and 100 raw cycles in ABBA
// halves (raw, ours, ours, raw) so drift hits both alike; the raw side is halved to keep the whole
// run under 15 minutes on a loaded 2-core VM (its rate is as stable with 100 as with 200). Writes docs/bench-latency.svg: time per task in flight
// (Little's law: concurrency / throughput) by concurrency, both sides.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { lineChart } from './lib/chart.js';
import { ROOT } from './lib/proc.js';
import { fmt } from './lib/stats.js';
import { metric, type Metrics } from './lib/results.js';
import { rawThroughput, removeLabelled } from './lib/raw-engine.js';
import { startStack, type Stack } from './lib/stack.js';

const LEVELS = [1, 2, 4, 8] as const;
const TASKS = 200;
const RAW_CYCLES = 100;
const TARGET = 0.9;

async function oursBatch(stack: Stack, n: number): Promise<{ seconds: number }> {
  const t0 = performance.now();
  const ids = await stack.queue('bench-tp', n);
  const ends = await Promise.all(ids.map((id) => stack.proxy.finished(id, 300_000)));
  const bad = ends.filter((f) => f.status !== 'complete').length;
  if (bad > 0) throw new Error(`throughput: ${bad} of ${n} tasks did not complete`);
  return { seconds: (Math.max(...ends.map((f) => f.at)) - t0) / 1000 };
}

export async function benchThroughput(print: (line: string) => void): Promise<Metrics> {
  const metrics: Metrics = {};
  const ours: Array<[number, number]> = [];
  const raw: Array<[number, number]> = [];
  print(`throughput: ${TASKS} tasks \`true\` (raw: ${RAW_CYCLES} cycles) per level; iron-api + iron-runner vs raw engine cycles (target >= ${TARGET})`);
  for (const c of LEVELS) {
    const stack = await startStack({ concurrency: c });
    const label = `tp-${stack.instanceId}`;
    try {
      await stack.register('bench-tp', 'true');
      const spec = { network: stack.network, memoryBytes: 64 * 1024 * 1024, cmd: ['true'], label };
      await oursBatch(stack, c); // warm-up
      const half = TASKS / 2;
      const rawHalf = RAW_CYCLES / 2;
      let rawS = 0;
      let oursS = 0;
      rawS += rawHalf / (await rawThroughput(spec, rawHalf, c)).perSecond;
      oursS += (await oursBatch(stack, half)).seconds;
      oursS += (await oursBatch(stack, half)).seconds;
      rawS += rawHalf / (await rawThroughput(spec, rawHalf, c)).perSecond;
      const o = TASKS / oursS;
      const r = RAW_CYCLES / rawS;
      const ratio = o / r;
      ours.push([c, (c / o) * 1000]);
      raw.push([c, (c / r) * 1000]);
      print(`  concurrency ${c}: ours ${fmt(o)} tasks/s, raw ${fmt(r)} containers/s, ratio ${fmt(ratio)}`);
      metrics[`throughput_c${c}_per_s`] = metric(o, 'tasks/s');
      metrics[`throughput_raw_c${c}_per_s`] = metric(r, 'containers/s');
      metrics[`throughput_c${c}_ratio`] = metric(ratio, 'x raw engine', TARGET, 'min');
    } finally {
      await removeLabelled(label).catch(() => undefined);
      await stack.stop();
    }
  }
  const svg = lineChart({
    title: 'Time per task in flight by concurrency (concurrency / throughput)',
    xLabel: 'concurrency',
    yLabel: 'ms per task',
    series: [
      { name: 'iron-runner (e2e)', color: '#c0392b', points: ours },
      { name: 'raw Engine API', color: '#2c3e50', points: raw },
    ],
  });
  const file = path.join(ROOT, 'docs/bench-latency.svg');
  writeFileSync(file, svg);
  print(`  chart: ${file}`);
  return metrics;
}
