// 1. Per-task overhead: trivial tasks (`true`) end to end through iron-api + iron-runner, from the
// queue call to the API accepting the finish, against the raw Engine API cycle (create/start/wait/
// delete over the unix socket) with the same image, limits and network, at concurrency 1.
// The two alternate task by task so engine drift hits both sides alike.
import { fmt, summarize } from './lib/stats.js';
import { metric, type Metrics } from './lib/results.js';
import { rawCycle, removeLabelled } from './lib/raw-engine.js';
import { cpuSeconds } from './lib/proc.js';
import { startStack } from './lib/stack.js';

const N = 30;
const TASK_TIMEOUT_MS = 60_000;

export async function benchOverhead(print: (line: string) => void): Promise<Metrics> {
  const stack = await startStack({ concurrency: 1 });
  const label = `overhead-${stack.instanceId}`;
  const ours: number[] = [];
  const raw: number[] = [];
  // CPU the two processes spend per task: tells whether overhead is our code or engine work we cause.
  let runnerCpuMs = Number.NaN;
  let apiCpuMs = Number.NaN;
  try {
    await stack.register('bench-true', 'true');
    const spec = { network: stack.network, memoryBytes: 64 * 1024 * 1024, cmd: ['true'], label };
    const oursOnce = async (): Promise<number> => {
      const t0 = performance.now();
      const [id] = await stack.queue('bench-true', 1);
      const f = await stack.proxy.finished(id ?? '', TASK_TIMEOUT_MS);
      if (f.status !== 'complete') throw new Error(`overhead task ended ${f.status}`);
      return f.at - t0;
    };
    // Warm-up: first use of the image, network and code paths is not per-task overhead.
    await oursOnce();
    await rawCycle(spec);
    const cpu0 = { r: cpuSeconds(stack.runnerPid), a: cpuSeconds(stack.api.pid) };
    for (let i = 0; i < N; i++) {
      // ABBA order cancels slow drift within each pair.
      if (i % 2 === 0) {
        ours.push(await oursOnce());
        raw.push(await rawCycle(spec));
      } else {
        raw.push(await rawCycle(spec));
        ours.push(await oursOnce());
      }
    }
    runnerCpuMs = ((cpuSeconds(stack.runnerPid) - cpu0.r) / N) * 1000;
    apiCpuMs = ((cpuSeconds(stack.api.pid) - cpu0.a) / N) * 1000;
  } finally {
    await removeLabelled(label).catch(() => undefined);
    await stack.stop();
  }
  const o = summarize(ours);
  const r = summarize(raw);
  const ratio = o.p50 / r.p50;
  print(`overhead: ${N} tasks \`true\`, concurrency 1, queue -> finish accepted by the API vs raw create/start/wait/delete`);
  print(`  ours p50 ${fmt(o.p50, 1)} ms, p95 ${fmt(o.p95, 1)} ms | raw p50 ${fmt(r.p50, 1)} ms, p95 ${fmt(r.p95, 1)} ms | ratio p50 ${fmt(ratio)} (target <= 1.10)`);
  print(`  CPU per task: iron-runner ${fmt(runnerCpuMs, 1)} ms, iron-api ${fmt(apiCpuMs, 1)} ms`);
  return {
    overhead_task_p50_ms: metric(o.p50, 'ms'),
    overhead_task_p95_ms: metric(o.p95, 'ms'),
    overhead_raw_p50_ms: metric(r.p50, 'ms'),
    overhead_raw_p95_ms: metric(r.p95, 'ms'),
    overhead_ratio: metric(ratio, 'x raw engine', 1.1),
    overhead_ratio_p95: metric(o.p95 / r.p95, 'x raw engine'),
    overhead_runner_cpu_per_task_ms: metric(runnerCpuMs, 'ms CPU'),
    overhead_api_cpu_per_task_ms: metric(apiCpuMs, 'ms CPU'),
  };
}
