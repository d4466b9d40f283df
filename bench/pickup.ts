// 2. Pickup latency: an idle runner waits in a long-poll reserve; a task is queued; pickup is the
// time from the queue call returning to the runner's container-create call for the task, read from
// the engine's event stream (create events carry timeNano on the same host clock). Docker emits the
// event when create completes, so the engine's own create time is measured beside it as the floor.
import { epochNowMs } from './lib/events.js';
import { fmt, summarize } from './lib/stats.js';
import { metric, type Metrics } from './lib/results.js';
import { engineApi, rawCreate, removeLabelled } from './lib/raw-engine.js';
import { startStack } from './lib/stack.js';

const N = 30;
/** Time for the runner to be back in its long-poll after a task finished. */
const SETTLE_MS = 250;

export async function benchPickup(print: (line: string) => void): Promise<Metrics> {
  const stack = await startStack({ concurrency: 1 });
  const label = `pickup-${stack.instanceId}`;
  const job: number[] = [];
  const first: number[] = [];
  const createCall: number[] = [];
  try {
    await stack.register('bench-pickup', 'true');
    const spec = { network: stack.network, memoryBytes: 64 * 1024 * 1024, cmd: ['true'], label };
    for (let i = -1; i < N; i++) {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const [id] = await stack.queue('bench-pickup', 1);
      const queuedAt = epochNowMs();
      const taskId = id ?? '';
      const [helper, jobCreate] = await Promise.all([
        stack.events.created(taskId, 'input-helper', 30_000).catch(() => undefined),
        stack.events.created(taskId, 'job', 30_000),
      ]);
      await stack.proxy.finished(taskId, 60_000);
      if (i < 0) continue; // warm-up
      job.push(jobCreate.epochMs - queuedAt);
      first.push(Math.min(helper?.epochMs ?? Infinity, jobCreate.epochMs) - queuedAt);
      // The floor: one create call on the idle engine, same body shape as a job container.
      const t0 = performance.now();
      const cid = await rawCreate(spec);
      createCall.push(performance.now() - t0);
      await engineApi('DELETE', `/containers/${cid}?force=1`);
    }
  } finally {
    await removeLabelled(label).catch(() => undefined);
    await stack.stop();
  }
  const j = summarize(job);
  const f = summarize(first);
  const c = summarize(createCall);
  print(`pickup: idle runner in long-poll; queue call returns -> engine create event (${N} samples)`);
  print(`  job container create: p50 ${fmt(j.p50, 1)} ms, p95 ${fmt(j.p95, 1)} ms (target p50 <= 10, p95 <= 50)`);
  print(`  first container create of the task: p50 ${fmt(f.p50, 1)} ms, p95 ${fmt(f.p95, 1)} ms`);
  print(`  floor: one engine create call takes p50 ${fmt(c.p50, 1)} ms, p95 ${fmt(c.p95, 1)} ms`);
  print(`  => the runner's first create call is made about ${fmt(Math.max(0, f.p50 - c.p50), 1)} ms (p50) after the queue call returns`);
  return {
    pickup_p50_ms: metric(j.p50, 'ms', 10),
    pickup_p95_ms: metric(j.p95, 'ms', 50),
    pickup_first_create_p50_ms: metric(f.p50, 'ms'),
    pickup_first_create_p95_ms: metric(f.p95, 'ms'),
    pickup_engine_create_p50_ms: metric(c.p50, 'ms'),
    // The event marks the end of create; minus the engine's own create time, it estimates when the call was made.
    pickup_first_call_est_p50_ms: metric(Math.max(0, f.p50 - c.p50), 'ms'),
  };
}
