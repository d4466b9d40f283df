// A slow, lossy network between runner and API (a chaos proxy on loopback that delays, refuses and
// cuts connections): no task runs twice within one reservation, no finish or log byte is lost.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChaosProxy, type ChaosProxy } from '../helpers/chaos-proxy.js';
import { containersGone, registerImage, removeNetwork, spawnRunner, startApi, taskLog, uniqueNetwork, waitForTask, watchContainerEvents, type Api, type RunnerProc } from '../runner/harness.js';

let api: Api;
let proxy: ChaosProxy;
let runner: RunnerProc;
const network = uniqueNetwork();

beforeAll(async () => {
  api = await startApi({ leaseMs: 15_000 });
  await registerImage(api, 'talk', `sh -c 'for i in 1 2 3; do echo "$TASK_ID says $i"; sleep 0.3; done'`);
  proxy = await startChaosProxy(api.handle.port, { maxDelayMs: 0, dropConnection: 0, cutPerChunk: 0 });
  runner = spawnRunner({ ...api, url: proxy.url }, { JOB_NETWORK: network, CONCURRENCY: '4', POLL_WAIT: '2s' });
  await runner.waitForEvent('api.connected');
});

afterAll(async () => {
  await runner?.stop();
  await proxy?.close();
  await removeNetwork(network);
  await api?.stop();
});

describe('slow and garbled network between runner and API', () => {
  it('delays, refused connections and cuts: every task completes once with its whole log', async () => {
    const events = await watchContainerEvents();
    proxy.set({ maxDelayMs: 150, dropConnection: 0.1, cutPerChunk: 0.03 });
    const ids = await api.client.project.queueTasks(
      Array.from({ length: 24 }, () => ({ code_name: 'talk', payload: '', cluster: api.clusterId })),
      AbortSignal.timeout(10_000),
    );
    // The chaos lasts a bounded time, then the network heals and everything must settle.
    await new Promise((r) => setTimeout(r, 20_000));
    proxy.set({ maxDelayMs: 0, dropConnection: 0, cutPerChunk: 0 });
    const done = await Promise.all(ids.map((id) => waitForTask(api, id, undefined, 120_000)));
    const seen = await events.stop();
    let duplicated = 0;
    let logLost = 0;
    for (const t of done) {
      const attempts = (t as { attempt?: number }).attempt ?? 1;
      if ((seen.get(t.id) ?? []).filter((a) => a === 'start').length > attempts) duplicated++;
      const expected = [1, 2, 3].map((i) => `${t.id} says ${i}\n`).join('');
      const log = await taskLog(api, t.id);
      if (!(log === expected || log.endsWith(`---\n${expected}`))) logLost++;
    }
    const figures = {
      queued: ids.length,
      complete: done.filter((t) => t.status === 'complete').length,
      duplicated,
      logs_incomplete: logLost,
      reruns: done.filter((t) => ((t as { attempt?: number }).attempt ?? 1) > 1).length,
      ...proxy.stats,
    };
    console.log(`network chaos: ${JSON.stringify(figures)}`);
    expect(figures.complete).toBe(ids.length);
    expect(duplicated).toBe(0);
    expect(logLost).toBe(0);
    expect(proxy.stats.cut + proxy.stats.dropped).toBeGreaterThan(0); // the chaos really happened
    expect(await containersGone(readFileSync(path.join(runner.jobsDir, 'instance-id'), 'utf8').trim())).toBe(0);
  }, 200_000);
});
