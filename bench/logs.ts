// 4. Log streaming: a task writes 100 MiB to stdout. Ours: queue -> the API accepts the finish, which
// the runner sends only after the API holds the whole log (log_size checked). Reference: the same
// container through the raw engine, attached before start and consumed into nothing. Alternating
// pairs; the runner's RSS is sampled every 50 ms for its growth over the idle baseline.
import { MiB, rssBytes, rssSampler } from './lib/proc.js';
import { fmt, summarize } from './lib/stats.js';
import { metric, type Metrics } from './lib/results.js';
import { rawCycle, removeLabelled } from './lib/raw-engine.js';
import { startStack } from './lib/stack.js';

const BYTES = 100 * MiB;
const PAIRS = 3;
// 100-byte lines, as in the machine's reference measurement (docker-facts §7).
const SCRIPT = `yes ${'x'.repeat(99)} | head -c ${BYTES}`;

export async function benchLogs(print: (line: string) => void): Promise<Metrics> {
  const stack = await startStack({ concurrency: 1, memoryPerJob: '128M', env: { MAX_LOG_SIZE: '256M' } });
  const label = `logs-${stack.instanceId}`;
  const ours: number[] = [];
  const raw: number[] = [];
  let growth = 0;
  try {
    await stack.register('bench-logs', `sh -c '${SCRIPT}'`);
    const spec = { network: stack.network, memoryBytes: 128 * MiB, cmd: ['sh', '-c', SCRIPT], label };
    for (let i = 0; i < PAIRS; i++) {
      raw.push(await rawCycle(spec, { attach: true }));
      const baseline = rssBytes(stack.runnerPid);
      const sampler = rssSampler(stack.runnerPid);
      const t0 = performance.now();
      const [id] = await stack.queue('bench-logs', 1);
      const f = await stack.proxy.finished(id ?? '', 300_000);
      const peak = sampler.stop().peak;
      if (f.status !== 'complete' || f.logSize !== BYTES) throw new Error(`log task: ${f.status}, log_size ${f.logSize} (want ${BYTES})`);
      ours.push(f.at - t0);
      growth = Math.max(growth, peak - baseline);
    }
  } finally {
    await removeLabelled(label).catch(() => undefined);
    await stack.stop();
  }
  const o = summarize(ours);
  const r = summarize(raw);
  const ratio = o.p50 / r.p50;
  print(`logs: 100 MiB on stdout (${PAIRS} alternating pairs); container -> API's stored log vs raw attach into nothing`);
  print(`  ours p50 ${fmt(o.p50 / 1000)} s (${fmt(BYTES / MiB / (o.p50 / 1000), 1)} MiB/s) | raw p50 ${fmt(r.p50 / 1000)} s | ratio ${fmt(ratio)} (target <= 1.5)`);
  print(`  runner RSS growth: ${fmt(growth / MiB, 1)} MiB (target <= 50)`);
  return {
    logs_100mib_s: metric(o.p50 / 1000, 's'),
    logs_raw_100mib_s: metric(r.p50 / 1000, 's'),
    logs_ratio: metric(ratio, 'x raw attach', 1.5),
    logs_runner_rss_growth_mib: metric(growth / MiB, 'MiB', 50),
  };
}
