// The sandbox alone (Sandbox.runTask in this process, no API, no runner process) against the raw
// cycle: splits the end-to-end overhead into "sandbox" and "protocol + process" parts.
import { fmt } from './lib/stats.js';
import { metric, type Metrics } from './lib/results.js';
import { benchSandboxOverhead } from './sandbox.js';

export async function benchSandbox(print: (line: string) => void): Promise<Metrics> {
  const r = await benchSandboxOverhead({ n: 20 });
  print('sandbox: Sandbox.runTask in-process vs raw create/start/wait/delete, 20 alternating pairs');
  print(`  runTask p50 ${fmt(r.oursMs.p50, 1)} ms, p95 ${fmt(r.oursMs.p95, 1)} ms | raw p50 ${fmt(r.rawMs.p50, 1)} ms, p95 ${fmt(r.rawMs.p95, 1)} ms | ratio ${fmt(r.ratio)}`);
  return {
    sandbox_runtask_p50_ms: metric(r.oursMs.p50, 'ms'),
    sandbox_raw_p50_ms: metric(r.rawMs.p50, 'ms'),
    sandbox_ratio: metric(r.ratio, 'x raw engine'),
  };
}
