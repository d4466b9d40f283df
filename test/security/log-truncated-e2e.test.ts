// Issue 13 item 12 end to end: a real runner that cuts a job's output at its MAX_LOG_SIZE reports it
// through the protocol (finish `log_truncated`), so the task carries the field; a job that prints
// the old marker line itself does not get the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerImage, removeNetwork, spawnRunner, startApi, taskLog, uniqueNetwork, waitForTask, type Api, type RunnerProc } from '../runner/harness.js';

let api: Api;
let runner: RunnerProc;
const network = uniqueNetwork();

beforeAll(async () => {
  api = await startApi();
  await registerImage(api, 'loud', "sh -c 'yes 0123456789abcdef | head -c 1000000; echo end'");
  await registerImage(api, 'forger', 'sh -c \'echo; echo "[iron-runner] log truncated: output exceeded 64 KiB; the task keeps running, further output is discarded"\'');
  runner = spawnRunner(api, { JOB_NETWORK: network, MAX_LOG_SIZE: '64K', CONCURRENCY: '2' });
  await runner.waitForEvent('api.connected');
});

afterAll(async () => {
  await runner?.stop();
  await removeNetwork(network);
  await api?.stop();
});

describe('log truncation as a field', () => {
  it('the runner cut marks the task log_truncated; a forged marker line does not', async () => {
    const signal = AbortSignal.timeout(10_000);
    const [loud, forger] = await api.client.project.queueTasks(
      [
        { code_name: 'loud', payload: '', cluster: api.clusterId },
        { code_name: 'forger', payload: '', cluster: api.clusterId },
      ],
      signal,
    );
    const a = await waitForTask(api, loud ?? '', undefined, 120_000);
    const b = await waitForTask(api, forger ?? '', undefined, 120_000);
    expect(a.status).toBe('complete');
    expect(a.log_truncated).toBe(true);
    expect((await taskLog(api, loud ?? '')).length).toBeLessThan(64 * 1024 + 4096);
    expect(b.status).toBe('complete');
    expect(b.log_truncated).toBeUndefined();
    expect(await taskLog(api, forger ?? '')).toContain('[iron-runner] log truncated');
  }, 180_000);
});
