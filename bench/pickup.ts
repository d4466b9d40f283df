// 2. Pickup latency: an idle runner waits in a long-poll reserve; a task is queued; pickup is the
// time from the queue call returning to the runner's container-create call for the task. The call
// is seen by a pass-through tap on the runner's Docker socket (lib/engine-tap.ts), on this process's
// clock. The engine's create event (which fires when create has finished) is reported beside it,
// with one raw create call on the idle engine as the floor of that second number.
import { epochNowMs } from './lib/events.js';
import { startEngineTap } from './lib/engine-tap.js';
import { fmt, summarize } from './lib/stats.js';
import { metric, type Metrics } from './lib/results.js';
import { engineApi, rawCreate, removeLabelled } from './lib/raw-engine.js';
import { startStack } from './lib/stack.js';

const N = 30;
/** Time for the runner to be back in its long-poll after a task finished. */
const SETTLE_MS = 250;

export async function benchPickup(print: (line: string) => void): Promise<Metrics> {
  const tap = await startEngineTap();
  const label = `pickup-${process.pid}`;
  const call: number[] = [];
  const done: number[] = [];
  const createCall: number[] = [];
  try {
    const stack = await startStack({ concurrency: 1, env: { DOCKER_HOST: tap.dockerHost } });
    try {
      await stack.register('bench-pickup', 'true');
      const spec = { network: stack.network, memoryBytes: 64 * 1024 * 1024, cmd: ['true'], label };
      for (let i = -1; i < N; i++) {
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        const [id] = await stack.queue('bench-pickup', 1);
        const queuedAt = epochNowMs();
        const taskId = id ?? '';
        const [jobCall, jobEvent] = await Promise.all([tap.createCall(taskId, 'job', 30_000), stack.events.created(taskId, 'job', 30_000)]);
        await stack.proxy.finished(taskId, 60_000);
        if (i < 0) continue; // warm-up (the first task also probes how input reaches jobs)
        call.push(jobCall.epochMs - queuedAt);
        done.push(jobEvent.epochMs - queuedAt);
        // The floor of the second number: one create call on the idle engine, same body shape as a job container.
        const t0 = performance.now();
        const cid = await rawCreate(spec);
        createCall.push(performance.now() - t0);
        await engineApi('DELETE', `/containers/${cid}?force=1`);
      }
    } finally {
      await removeLabelled(label).catch(() => undefined);
      await stack.stop();
    }
  } finally {
    await tap.close();
  }
  const j = summarize(call);
  const d = summarize(done);
  const c = summarize(createCall);
  print(`pickup: idle runner in long-poll; queue call returns -> the runner's job container create call (${N} samples)`);
  print(`  create call: p50 ${fmt(j.p50, 1)} ms, p95 ${fmt(j.p95, 1)} ms (target p50 <= 10, p95 <= 50)`);
  print(`  create finished (engine event): p50 ${fmt(d.p50, 1)} ms, p95 ${fmt(d.p95, 1)} ms; one engine create alone: p50 ${fmt(c.p50, 1)} ms`);
  return {
    pickup_p50_ms: metric(j.p50, 'ms', 10),
    pickup_p95_ms: metric(j.p95, 'ms', 50),
    pickup_create_done_p50_ms: metric(d.p50, 'ms'),
    pickup_create_done_p95_ms: metric(d.p95, 'ms'),
    pickup_engine_create_p50_ms: metric(c.p50, 'ms'),
  };
}
