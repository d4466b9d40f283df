// 10,000 malformed payloads through a real encrypted-cluster runner: every task ends `error` with a
// payload msg, not one job container is created, the runner stays healthy and still runs a good task.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptPayload } from '../../src/decrypt/index.js';
import { loadVectors } from '../helpers/vectors.js';
import { registerImage, removeNetwork, spawnRunner, startApi, taskLog, uniqueNetwork, waitForTask, watchContainerEvents, type Api, type RunnerProc } from '../runner/harness.js';

const TOTAL = 10_000;
const BATCH = 1000;
const { keys } = loadVectors();
const key2048 = keys.find((k) => k.bits === 2048);
const key1024 = keys.find((k) => k.bits === 1024) ?? keys.find((k) => k.bits === 4096);
if (key2048 === undefined || key1024 === undefined) throw new Error('vector keys missing');

let api: Api;
let runner: RunnerProc;
let healthUrl = '';
const network = uniqueNetwork();

beforeAll(async () => {
  api = await startApi();
  await registerImage(api, 'reader', `sh -c 'cat "$PAYLOAD_FILE"'`);
  runner = spawnRunner(api, {
    JOB_NETWORK: network,
    DECRYPTION_KEY: key2048.private_pem,
    CONCURRENCY: '64',
    MEMORY_PER_JOB: '16M',
    METRICS_ADDR: '127.0.0.1:0',
    LOG_LEVEL: 'info',
  });
  await runner.waitForEvent('api.connected', undefined, 60_000);
  const listening = await runner.waitForEvent('endpoints.listening');
  healthUrl = `http://${String(listening['addr'])}/healthz`;
}, 90_000);

afterAll(async () => {
  const code = await runner?.stop();
  rmSync(runner.jobsDir, { recursive: true, force: true });
  await removeNetwork(network);
  await api?.stop();
  expect(code).toBe(0);
}, 60_000);

/** Ten kinds of bad payload, cycled: not base64, too short, random bytes, tampered, wrong key, ... */
function malformed(i: number, good: Buffer): string {
  switch (i % 10) {
    case 0:
      return `not base64 ${i} !!`;
    case 1:
      return '';
    case 2:
      return randomBytes(8 + (i % 50)).toString('base64');
    case 3:
      return randomBytes(256 + 28 + (i % 200)).toString('base64');
    case 4: {
      const t = Buffer.from(good);
      const at = 256 + (i % (t.length - 256));
      t[at] = (t[at] ?? 0) ^ (1 + (i % 255));
      return t.toString('base64');
    }
    case 5:
      return good.subarray(0, good.length - 1 - (i % 20)).toString('base64');
    case 6:
      return `${good.toString('base64').slice(0, -4)}====`;
    case 7:
      return Buffer.from(`{"plaintext":${i}}`).toString('base64');
    case 8:
      return encryptPayload(key1024?.public_pem ?? '', `wrong key ${i}`);
    default:
      return `${good.toString('base64')}\u0000`;
  }
}

describe('malformed payloads on an encrypted cluster', () => {
  it(`ends ${TOTAL} malformed tasks error without creating a container`, async () => {
    const events = await watchContainerEvents();
    const good = Buffer.from(encryptPayload(key2048.public_pem, 'template'), 'base64');
    const wrongKeyTemplate = encryptPayload(key1024.public_pem, 'wrong key');
    const started = Date.now();
    const ids: string[] = [];
    for (let b = 0; b < TOTAL / BATCH; b++) {
      // RSA encryption per task is the slow case; reuse one wrong-key ciphertext past the first batch.
      const tasks = Array.from({ length: BATCH }, (_, j) => {
        const i = b * BATCH + j;
        const payload = i % 10 === 8 && b > 0 ? wrongKeyTemplate : malformed(i, good);
        return { code_name: 'reader', payload, cluster: api.clusterId };
      });
      ids.push(...(await api.client.project.queueTasks(tasks, AbortSignal.timeout(60_000))));
    }
    const queuedMs = Date.now() - started;
    const stats = async (): Promise<Record<string, number>> => {
      const res = await fetch(`${api.url}/2/clusters/${api.clusterId}/stats`, { headers: { authorization: `OAuth ${api.handle.bootstrap?.projectToken ?? ''}` } });
      return ((await res.json()) as { cluster: Record<string, number> }).cluster;
    };
    let s = await stats();
    const deadline = Date.now() + 240_000;
    while ((s['error'] ?? 0) < TOTAL && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      s = await stats();
    }
    const seconds = (Date.now() - started) / 1000;
    const seen = await events.stop();
    const withContainer = ids.filter((id) => seen.has(id)).length;
    const healthy = (await fetch(healthUrl).catch(() => undefined))?.status === 200;
    console.log(
      `[security] malformed payloads: tasks=${TOTAL} errored=${s['error'] ?? 0} complete=${s['complete'] ?? 0} containers_created=${withContainer} queue_s=${(queuedMs / 1000).toFixed(1)} total_s=${seconds.toFixed(1)} rate=${(TOTAL / seconds).toFixed(0)}/s runner_healthy=${healthy}`,
    );
    expect(s['error']).toBe(TOTAL);
    expect(s['complete'] ?? 0).toBe(0);
    expect(withContainer).toBe(0);
    expect(healthy).toBe(true);
    // A sample of the tasks: each says why, in words about the payload.
    for (const id of ids.filter((_, i) => i % 997 === 0)) {
      const t = await api.client.project.getTask(id, AbortSignal.timeout(5_000));
      expect(t.status).toBe('error');
      expect(t.msg).toMatch(/payload/);
    }
  }, 300_000);

  it('still runs a well-formed task afterwards', async () => {
    const [id] = await api.client.project.queueTasks([{ code_name: 'reader', payload: encryptPayload(key2048.public_pem, 'still-fine'), cluster: api.clusterId }], AbortSignal.timeout(10_000));
    const t = await waitForTask(api, id ?? '', undefined, 60_000);
    expect(t.status).toBe('complete');
    expect(await taskLog(api, id ?? '')).toBe('still-fine');
    expect(runner.proc.exitCode).toBeNull();
  }, 90_000);
});
