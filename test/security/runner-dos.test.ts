// Hostile jobs against the runner process itself: the runner's /healthz keeps answering (generous
// bound) while a job attacks it, and the attack costs the job, not other tasks. Real iron-api, a real
// iron-runner process (dist/), real Docker.
//  - issue 13 item 5: secret-looking env_vars (here 4 x 60 KB, what the API still accepts) and output
//    without newlines that keeps matching long secret prefixes; the old masker was quadratic and
//    starved the event loop (the issue measured /healthz at ~10 s).
//  - an output flood far past MAX_LOG_SIZE, a fork bomb against the pids limit, /dev/shm and /tmp
//    filled, all at once beside an ordinary task: the runner answers, the ordinary task completes,
//    and the attacker's timeout is enforced on time.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { registerImage, removeNetwork, spawnRunner, startApi, taskLog, uniqueNetwork, waitForTask, type Api, type RunnerProc } from '../runner/harness.js';

let api: Api;
let runner: RunnerProc;
let port = 0;
const network = uniqueNetwork();

/** Polls /healthz until `done` settles; returns the worst latency seen (a failed call counts as its timeout). */
async function worstHealthz(done: Promise<unknown>): Promise<number> {
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  let worst = 0;
  while (!finished) {
    const t0 = performance.now();
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(20_000) }).then(
      (r) => r.ok,
      () => false,
    );
    worst = Math.max(worst, ok ? performance.now() - t0 : 20_000);
    await new Promise((r) => setTimeout(r, 100));
  }
  return worst;
}

const secrets = Array.from({ length: 4 }, () => randomBytes(45_000).toString('base64'));

beforeAll(async () => {
  api = await startApi();
  port = await freePort();
  runner = spawnRunner(api, { JOB_NETWORK: network, METRICS_ADDR: `127.0.0.1:${port}`, MAX_LOG_SIZE: '64M', LOG_LEVEL: 'info' });
  await runner.waitForEvent('api.connected', undefined, 60_000);
  // ~12 MB of output, no newline: 200 times the first 59,999 bytes of a secret (never the whole one).
  await registerImage(
    api,
    'masker-attack',
    `sh -c 'p=$(printf %s "$API_TOKEN_0" | head -c 59999); i=0; while [ $i -lt 200 ]; do printf %s "$p"; i=$((i+1)); done; printf " then %s end" "$API_TOKEN_1"'`,
    {
      env_vars: Object.fromEntries(secrets.map((s, i) => [`API_TOKEN_${i}`, s])),
    },
  );
  await registerImage(api, 'flood', `sh -c 'yes AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'`);
  await registerImage(api, 'forkbomb', `sh -c 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=512 2>/dev/null; dd if=/dev/zero of=/tmp/fill bs=1M count=512 2>/dev/null; b(){ b | b & }; b; sleep 60'`);
  await registerImage(api, 'ordinary', `sh -c 'sleep 2; echo "fine $TASK_ID"'`);
}, 120_000);

afterAll(async () => {
  await runner?.stop('SIGKILL');
  await removeNetwork(network);
  await api?.stop();
});

describe('the runner stays responsive under hostile jobs', () => {
  it('masking huge secrets in newline-free output keeps /healthz answering and costs linear time', async () => {
    const [id] = await api.client.project.queueTasks([{ code_name: 'masker-attack', payload: '', cluster: api.clusterId }], AbortSignal.timeout(10_000));
    if (id === undefined) throw new Error('not queued');
    const t0 = performance.now();
    const finished = waitForTask(api, id, undefined, 300_000);
    const worst = await worstHealthz(finished);
    const task = await finished;
    expect(task.status).toBe('complete');
    expect(worst, `worst /healthz latency ${Math.round(worst)} ms`).toBeLessThan(2_000);
    expect(performance.now() - t0).toBeLessThan(240_000);
    const log = await taskLog(api, id);
    expect(log.endsWith(' then *** end')).toBe(true);
    expect(log).not.toContain(secrets[1]);
    expect(log.length).toBeGreaterThan(11_000_000);
  }, 320_000);

  it('an output flood, a fork bomb and filled /dev/shm beside an ordinary task: all bounded, /healthz answers', async () => {
    const q = (code: string): Promise<string[]> => api.client.project.queueTasks([{ code_name: code, payload: '', cluster: api.clusterId, timeout: 10 }], AbortSignal.timeout(10_000));
    const t0 = performance.now();
    const [flood] = await q('flood');
    const [bomb] = await q('forkbomb');
    const [ordinary] = await q('ordinary');
    if (flood === undefined || bomb === undefined || ordinary === undefined) throw new Error('not queued');
    const all = Promise.all([flood, bomb, ordinary].map((id) => waitForTask(api, id, undefined, 120_000)));
    const worst = await worstHealthz(all);
    const [f, b, o] = await all;
    expect(worst, `worst /healthz latency ${Math.round(worst)} ms`).toBeLessThan(5_000);
    expect(o?.status).toBe('complete');
    expect(await taskLog(api, ordinary)).toBe(`fine ${ordinary}\n`);
    expect(f?.status).toBe('timeout');
    // The fork bomb is bounded either way: by its timeout, or by the memory limit when its processes
    // (each within the pids limit) outgrow it first, which depends on the machine's speed.
    expect(['timeout', 'killed']).toContain(b?.status);
    // 10 s timeouts, stop grace 2 s: enforced on time, not minutes late.
    expect(performance.now() - t0).toBeLessThan(60_000);
    const floodLog = await taskLog(api, flood);
    expect(floodLog.length).toBeLessThan(64 * 1024 * 1024 + 4096);
    expect(floodLog).toContain('[iron-runner] log truncated');
  }, 180_000);
});
