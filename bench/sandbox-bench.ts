// The sandbox alone (the sandbox's prepare, start, wait and dispose in this process, no API, no runner process) against the raw
// cycle: splits the end-to-end overhead into "sandbox" and "protocol + process" parts, for both ways
// job input can be delivered (the bind the runner picks on a shared filesystem, and the volume).
import { fmt } from './lib/stats.js';
import { metric, type Metrics } from './lib/results.js';
import { benchSandboxOverhead } from './sandbox.js';

const N = 20;

export async function benchSandbox(print: (line: string) => void): Promise<Metrics> {
  const bind = await benchSandboxOverhead({ n: N, input: 'bind' });
  const volume = await benchSandboxOverhead({ n: N, input: 'volume' });
  print(`sandbox: prepare+start+wait+dispose in-process vs raw create/start/wait/delete, ${N} alternating pairs per input mode`);
  for (const [name, r] of [
    ['bind input', bind],
    ['volume input', volume],
  ] as const) {
    print(`  ${name}: ours p50 ${fmt(r.oursMs.p50, 1)} ms, p95 ${fmt(r.oursMs.p95, 1)} ms | raw p50 ${fmt(r.rawMs.p50, 1)} ms, p95 ${fmt(r.rawMs.p95, 1)} ms | ratio ${fmt(r.ratio)}`);
  }
  return {
    sandbox_runtask_p50_ms: metric(bind.oursMs.p50, 'ms'),
    sandbox_raw_p50_ms: metric(bind.rawMs.p50, 'ms'),
    sandbox_ratio: metric(bind.ratio, 'x raw engine'),
    sandbox_volume_runtask_p50_ms: metric(volume.oursMs.p50, 'ms'),
    sandbox_volume_raw_p50_ms: metric(volume.rawMs.p50, 'ms'),
    sandbox_volume_ratio: metric(volume.ratio, 'x raw engine'),
  };
}
