// Pre-pull: the first task of a newly registered code whose image lives in a private registry
// (Debian's docker-registry on loopback, htpasswd + TLS, lib/registry.ts). Latency is from the queue
// call returning to the engine's create event of the task's job container, the moment the job can
// start. Three numbers, each over ROUNDS fresh registrations with the image removed from the engine:
//   docker pull alone   the floor a cold first task pays on top of pickup (Engine API pull, as the CLI);
//   without pre-pull    a runner with PRE_PULL=false: the task pulls;
//   with pre-pull       the default: the registration warmed the image before the task was queued.
import { epochNowMs } from './lib/events.js';
import { enginePull, engineCall, startRegistry, type TestRegistry } from './lib/registry.js';
import { engineApi, IMAGE } from './lib/raw-engine.js';
import { metric, type Metrics } from './lib/results.js';
import { startStack, type Stack } from './lib/stack.js';
import { fmt, summarize } from './lib/stats.js';

const ROUNDS = 5;
/** A blob on top of the test image: a small application image (the test image alone is 2 MB). */
const BLOB_MIB = 32;

export async function benchPrepull(print: (line: string) => void): Promise<Metrics> {
  const reg = await startRegistry();
  const image = `${reg.host}/bench/app:1`;
  try {
    await pushAppImage(reg);
    const pull: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      await removeImage(image);
      const t0 = performance.now();
      await enginePull(image, reg.auth);
      pull.push(performance.now() - t0);
    }
    const cold = await firstTasks(reg, image, false);
    const warm = await firstTasks(reg, image, true);
    const p = summarize(pull);
    const c = summarize(cold.latency);
    const w = summarize(warm.latency);
    const wu = summarize(warm.warmup);
    const s2 = summarize(warm.second);
    print(`prepull: first task of a new code, image ${BLOB_MIB + 2} MB in a private registry on loopback (${ROUNDS} rounds each)`);
    print(`  docker pull alone: p50 ${fmt(p.p50, 0)} ms`);
    print(`  first task without pre-pull (queue -> job container created): p50 ${fmt(c.p50, 0)} ms, max ${fmt(c.p95, 0)} ms`);
    print(`  first task with pre-pull: p50 ${fmt(w.p50, 0)} ms, max ${fmt(w.p95, 0)} ms (registration -> image warmed: p50 ${fmt(wu.p50, 0)} ms)`);
    print(`  second task of the same code: p50 ${fmt(s2.p50, 0)} ms`);
    return {
      prepull_docker_pull_p50_ms: metric(p.p50, 'ms'),
      prepull_first_task_without_p50_ms: metric(c.p50, 'ms'),
      prepull_first_task_with_p50_ms: metric(w.p50, 'ms'),
      prepull_warmup_p50_ms: metric(wu.p50, 'ms'),
      prepull_second_task_p50_ms: metric(s2.p50, 'ms'),
    };
  } finally {
    await removeImage(image);
    await reg.stop();
  }
}

async function firstTasks(reg: TestRegistry, image: string, prePull: boolean): Promise<{ latency: number[]; warmup: number[]; second: number[] }> {
  const stack = await startStack({ concurrency: 1, env: { PRE_PULL: String(prePull) } });
  const latency: number[] = [];
  const warmup: number[] = [];
  const second: number[] = [];
  try {
    await stack.client.project.dockerLogin({ ...reg.auth }, AbortSignal.timeout(10_000));
    for (let i = 0; i < ROUNDS; i++) {
      await removeImage(image);
      const name = `prepull-${prePull ? 'on' : 'off'}-${i}`;
      const registered = performance.now();
      await stack.client.project.registerCode({ name, image, command: 'true' }, AbortSignal.timeout(10_000));
      if (prePull) {
        await untilPresent(image, 120_000);
        warmup.push(performance.now() - registered);
      } else {
        // The same pause a warmed round has, so the runner is back in its long-poll either way.
        await new Promise((r) => setTimeout(r, 500));
      }
      latency.push(await firstTask(stack, name));
      // The next task of the same code: what remains when neither pull nor first use is paid.
      await new Promise((r) => setTimeout(r, 250));
      second.push(await firstTask(stack, name));
    }
  } finally {
    await stack.stop();
  }
  return { latency, warmup, second };
}

async function firstTask(stack: Stack, name: string): Promise<number> {
  const [id] = await stack.queue(name, 1);
  const queuedAt = epochNowMs();
  const created = await stack.events.created(id ?? '', 'job', 120_000);
  await stack.proxy.finished(id ?? '', 60_000);
  return created.epochMs - queuedAt;
}

/** Builds the app image (test image + random blob), pushes it, and leaves no local copy of it. */
async function pushAppImage(reg: TestRegistry): Promise<void> {
  const local = `iron-test/prepull-app-${process.pid}:1`;
  const created = await engineApi('POST', '/containers/create', {
    Image: IMAGE,
    Cmd: ['sh', '-c', `head -c ${BLOB_MIB * 1024 * 1024} /dev/urandom > /blob`],
    Labels: { 'io.iron-runner.bench': 'prepull' },
  });
  const cid = (created.json as { Id?: string } | null)?.Id;
  if (created.status !== 201 || cid === undefined) throw new Error(`prepull: create failed: HTTP ${created.status}`);
  try {
    await engineApi('POST', `/containers/${cid}/start`);
    await engineApi('POST', `/containers/${cid}/wait`);
    const [repo, tag] = local.split(':') as [string, string];
    await engineCall('POST', `/commit?container=${cid}&repo=${encodeURIComponent(repo)}&tag=${tag}`);
  } finally {
    await engineApi('DELETE', `/containers/${cid}?force=1`);
  }
  try {
    await reg.push(local, 'bench/app:1');
  } finally {
    await removeImage(local);
  }
}

/** Removes the image; 409 while the runner still removes the last task's container (after its report). */
async function removeImage(ref: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  let r = await engineApi('DELETE', `/images/${ref}`);
  while (r.status === 409 && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 100));
    r = await engineApi('DELETE', `/images/${ref}`);
  }
  if (r.status !== 200 && r.status !== 404) throw new Error(`prepull: could not remove ${ref}: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
}

async function untilPresent(ref: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await engineApi('GET', `/images/${ref}/json`)).status !== 200) {
    if (Date.now() > deadline) throw new Error(`prepull: ${ref} not warmed within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
