// An encrypted cluster: the runner holds DECRYPTION_KEY; every payload must decrypt and authenticate
// before anything runs. Tasks encrypted with the shared vectors' public keys run and see plaintext;
// unencrypted, tampered and wrong-key tasks end `error` and never start a container.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptPayload } from '../../src/decrypt/index.js';
import { loadVectors } from '../helpers/vectors.js';
import { watchContainerEvents, registerImage, removeNetwork, spawnRunner, startApi, taskLog, uniqueNetwork, waitForTask, type Api, type RunnerProc } from './harness.js';

const { keys } = loadVectors();
const key2048 = keys.find((k) => k.bits === 2048);
const key4096 = keys.find((k) => k.bits === 4096);
if (key2048 === undefined || key4096 === undefined) throw new Error('vector keys missing');

let api: Api;
let runner: RunnerProc;
const network = uniqueNetwork();
const PLAINTEXT = '{"secret":"canary-plaintext-7f3a"}';

beforeAll(async () => {
  api = await startApi();
  await registerImage(api, 'reader', `sh -c 'printf "%s" "$(cat "$PAYLOAD_FILE")"'`);
  runner = spawnRunner(api, { JOB_NETWORK: network, DECRYPTION_KEY: key2048.private_pem });
  await runner.waitForEvent('api.connected');
});

afterAll(async () => {
  await runner?.stop();
  await removeNetwork(network);
  await api?.stop();
});

async function queue(payload: string): Promise<string> {
  const [id] = await api.client.project.queueTasks([{ code_name: 'reader', payload, cluster: api.clusterId }], AbortSignal.timeout(5_000));
  return id ?? '';
}

describe('encrypted cluster', () => {
  it('runs tasks encrypted with the public key (SPKI and PKCS#1): the job sees the plaintext', async () => {
    const events = await watchContainerEvents();
    const ids = await Promise.all([queue(encryptPayload(key2048.public_pem, PLAINTEXT)), queue(encryptPayload(key2048.public_pem_pkcs1, PLAINTEXT)), queue(encryptPayload(key2048.public_pem, ''))]);
    const done = await Promise.all(ids.map((id) => waitForTask(api, id)));
    expect(done.map((t) => t.status)).toEqual(['complete', 'complete', 'complete']);
    expect(await taskLog(api, ids[0] ?? '')).toBe(PLAINTEXT);
    expect(await taskLog(api, ids[1] ?? '')).toBe(PLAINTEXT);
    // The same evidence the next test relies on does show containers for tasks that ran.
    expect((await events.stop()).get(ids[0] ?? '')).toContain('create');
    // The API only ever held ciphertext.
    const stored = await api.client.project.getTask(ids[0] ?? '', AbortSignal.timeout(5_000));
    expect(stored.payload ?? '').not.toContain('canary');
  }, 60_000);

  it('ends unencrypted, tampered and wrong-key tasks `error` without starting them', async () => {
    const events = await watchContainerEvents();
    const good = encryptPayload(key2048.public_pem, PLAINTEXT);
    const raw = Buffer.from(good, 'base64');
    raw[raw.length - 20] = (raw[raw.length - 20] ?? 0) ^ 1;
    const cases = {
      plaintext: await queue(PLAINTEXT),
      tampered: await queue(raw.toString('base64')),
      wrongKey: await queue(encryptPayload(key4096.public_pem, PLAINTEXT)),
      empty: await queue(''),
    };
    const done = new Map<string, Awaited<ReturnType<typeof waitForTask>>>();
    for (const [name, id] of Object.entries(cases)) done.set(name, await waitForTask(api, id));
    const seen = await events.stop();
    for (const [name, id] of Object.entries(cases)) {
      const t = done.get(name) ?? (await waitForTask(api, id));
      expect(t.status, name).toBe('error');
      expect(t.msg, name).toMatch(/payload/);
      expect(seen.get(id), `${name}: no container may be created`).toBeUndefined();
      expect(await taskLog(api, id), name).toBe('');
    }
    // Nothing about the plaintext or the key reached the runner's own log.
    const all = runner.stderr.join('\n');
    expect(all).not.toContain('canary-plaintext');
    for (const line of key2048.private_pem.split('\n').filter((l) => l.length > 40)) expect(all).not.toContain(line);
  }, 60_000);
});

describe('payload errors name the cause, and a refused task never ran', () => {
  it('not encrypted / encrypted for a smaller key / altered: each its own msg, none with a start_time', async () => {
    const key1024 = keys.find((k) => k.bits === 1024);
    if (key1024 === undefined) throw new Error('vector key missing');
    const good = Buffer.from(encryptPayload(key2048.public_pem, PLAINTEXT), 'base64');
    good[10] = (good[10] ?? 0) ^ 1;
    const expected: Array<[string, RegExp]> = [
      [PLAINTEXT, /^payload is not encrypted: this cluster's runners decrypt every payload/],
      ['', /^payload is not encrypted/],
      [encryptPayload(key1024.public_pem, PLAINTEXT), /^payload was encrypted for a different key: this cluster's key has 2048 bits, the payload was encrypted for a smaller one/],
      [good.toString('base64'), /^payload authentication failed \(not encrypted with this cluster's public key, or altered\)$/],
      [encryptPayload(key4096.public_pem, PLAINTEXT), /^payload authentication failed/],
    ];
    for (const [payload, msg] of expected) {
      const t = await waitForTask(api, await queue(payload));
      expect(t.status).toBe('error');
      expect(t.msg).toMatch(msg);
      expect(t.msg).not.toMatch(/too short/);
      expect(t.start_time, t.msg).toBeUndefined();
      expect(t.end_time).toBeDefined();
    }
  }, 60_000);
});

describe('runner startup with bad configuration', () => {
  it('exits 2 with one message listing every problem, never echoing the key', async () => {
    const bad = spawnRunner(api, {
      CLUSTER_ID: '',
      DECRYPTION_KEY: key2048.public_pem,
      CONCURRENCY: 'lots',
      MEMORY_PER_JOB: '12X',
      METRICS_ADDR: 'nope',
    });
    expect(await bad.exited).toBe(2);
    const text = bad.stderr.join('\n');
    for (const name of ['CLUSTER_ID', 'DECRYPTION_KEY', 'CONCURRENCY', 'MEMORY_PER_JOB', 'METRICS_ADDR']) expect(text).toContain(name);
    expect(text).toMatch(/public key/i);
    for (const line of key2048.public_pem.split('\n').filter((l) => l.length > 40)) expect(text).not.toContain(line);
  }, 30_000);
});
