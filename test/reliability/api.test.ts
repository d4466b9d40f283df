// iron-api killed with kill -9 for 30 s and restarted on the same data dir while runners run tasks:
// the runners keep running them, nothing is lost, and they resume within seconds of the API's return.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIronClient, type IronClient } from '../../src/api/index.js';
import { spawnApiProcess, type ApiProcess } from '../helpers/api-process.js';
import { queueTasks } from '../helpers/queue.js';
import { registerImage, removeNetwork, spawnRunner, taskLog, uniqueNetwork, waitForTask, type Api, type RunnerProc } from '../runner/harness.js';

const network = uniqueNetwork();
let first: ApiProcess;
let apiProc: ApiProcess | undefined;
let runner: RunnerProc;
let client: IronClient;
let api: Api;

beforeAll(async () => {
  first = await spawnApiProcess();
  apiProc = first;
  const creds = first.credentials;
  if (creds === null) throw new Error('a fresh data dir printed no credentials');
  client = createIronClient({ baseUrl: first.url, token: creds.projectToken, projectId: creds.projectId });
  api = { client, url: first.url, clusterId: creds.clusterId, clusterToken: creds.clusterToken } as unknown as Api;
  await registerImage(api, 'chatty', `sh -c 'for i in $(seq 1 30); do echo "$TASK_ID $i"; sleep 0.5; done'`);
  await registerImage(api, 'quick', `sh -c 'echo "ran $TASK_ID"'`);
  runner = spawnRunner(api, { JOB_NETWORK: network, CONCURRENCY: '4' });
  await runner.waitForEvent('api.connected');
});

afterAll(async () => {
  await runner?.stop();
  await client?.close();
  await apiProc?.kill();
  await removeNetwork(network);
  // The data dir is the first process's (a restart serves it as the caller's): removed with it.
  await first?.stop();
});

describe('API killed (kill -9) for 30 s', () => {
  it('runners keep running, nothing is lost, and they resume within seconds', async () => {
    const ids = await queueTasks(api, 'chatty', { n: 4 });
    const later = await queueTasks(api, 'quick', { n: 4 });
    await Promise.all(ids.map((id) => waitForTask(api, id, new Set(['running']))));
    await apiProc?.kill();
    await new Promise((r) => setTimeout(r, 30_000));
    apiProc = await spawnApiProcess({ dataDir: first.dataDir, port: first.port });
    const back = Date.now();
    const [probe] = await queueTasks(api, 'quick');
    expect((await waitForTask(api, probe ?? '', undefined, 60_000)).status).toBe('complete');
    const resumeMs = Date.now() - back;
    const done = await Promise.all([...ids, ...later].map((id) => waitForTask(api, id, undefined, 90_000)));
    let logLost = 0;
    for (const id of ids) {
      const expected = Array.from({ length: 30 }, (_, i) => `${id} ${i + 1}\n`).join('');
      if ((await taskLog(api, id)) !== expected) logLost++;
    }
    const figures = { queued: done.length + 1, complete: done.filter((t) => t.status === 'complete').length + 1, logs_incomplete: logLost, resume_ms: resumeMs };
    console.log(`API kill -9 for 30 s: ${JSON.stringify(figures)}`);
    expect(done.every((t) => t.status === 'complete')).toBe(true);
    expect(logLost).toBe(0);
    expect(resumeMs).toBeLessThan(15_000);
  }, 180_000);
});
