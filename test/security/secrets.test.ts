// Canary secrets through an end-to-end flow: iron-api in-process with its log captured, a spawned
// encrypted-cluster runner whose stderr is captured (LOG_LEVEL=debug), the iron CLI storing registry
// credentials. None of the canaries may show up in any log, API response (beyond a token's own
// creation), error message, or a job's environment; the task's own env_vars may.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptPayload } from '../../src/decrypt/index.js';
import { createLogger } from '../../src/log.js';
import { type ServerHandle } from '../../src/server/start.js';
import { IRON_BIN } from '../cli/helpers.js';
import { loadVectors } from '../helpers/vectors.js';
import { registerImage, removeNetwork, spawnRunner, startApi, taskLog, uniqueNetwork, waitForTask, type Api, type RunnerProc } from '../runner/harness.js';

const key = loadVectors().keys.find((k) => k.bits === 2048);
if (key === undefined) throw new Error('vector key missing');
const tag = randomBytes(6).toString('hex');
const PLAINTEXT = `canary-plaintext-${tag}`;
const DB_PASSWORD = `canary-dbpw-${tag}`;
const REGISTRY_PASSWORD = `canary-registry-${tag}`;
const BAD_TOKEN = `canary-badtoken-${tag}`;
// Lines of the PEM body are what a leak would show (the header line is public knowledge).
const KEY_LINES = key.private_pem.split('\n').filter((l) => l.length > 40);

const apiLog: string[] = [];
const responses: Array<{ what: string; text: string }> = [];
const errors: string[] = [];
let handle: ServerHandle;
let api: Api;
let runner: RunnerProc;
let dataDir: string;
const network = uniqueNetwork();

function canaries(): Record<string, string> {
  return {
    'cluster token': api.clusterToken,
    'project token': handle.bootstrap?.projectToken ?? 'unset',
    plaintext: PLAINTEXT,
    'runner DB_PASSWORD': DB_PASSWORD,
    'registry password': REGISTRY_PASSWORD,
    'rejected token': BAD_TOKEN,
    ...Object.fromEntries(KEY_LINES.map((l, i) => [`private key line ${i}`, l])),
  };
}

function leaks(text: string, except: readonly string[] = []): string[] {
  return Object.entries(canaries())
    .filter(([name, v]) => !except.includes(name) && text.includes(v))
    .map(([name]) => name);
}

/** A raw call whose response text is kept for the leak check. */
async function call(what: string, method: string, p: string, token: string | undefined, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers['authorization'] = `OAuth ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${api.url}${p}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  responses.push({ what: `${what} (${res.status})`, text });
  return new Response(text, { status: res.status });
}

function iron(args: string[], env: Record<string, string>, stdin?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [IRON_BIN, ...args], { env: { PATH: process.env['PATH'] ?? '', HOME: dataDir, ...env }, cwd: dataDir, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : Number((err as { code?: unknown }).code ?? -1), out: `${stdout}\n${stderr}` });
    });
    child.stdin?.end(stdin ?? '');
  });
}

beforeAll(async () => {
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => void apiLog.push(s) } });
  api = await startApi({ log });
  handle = api.handle;
  dataDir = api.dataDir;
  await registerImage(api, 'envdump', `sh -c 'env | sort; test -s "$PAYLOAD_FILE" && echo payload-present'`, { env_vars: { TASK_OWN_SETTING: `task-visible-${tag}` } });
  runner = spawnRunner(api, { JOB_NETWORK: network, DECRYPTION_KEY: key.private_pem, DB_PASSWORD, LOG_LEVEL: 'debug', CONCURRENCY: '2' });
  await runner.waitForEvent('api.connected', undefined, 60_000);
}, 90_000);

afterAll(async () => {
  await runner?.stop();
  rmSync(runner.jobsDir, { recursive: true, force: true });
  await removeNetwork(network);
  await api?.stop();
}, 60_000);

describe('canary secrets', () => {
  let jobLog = '';

  it('iron docker login stores registry credentials without printing them, even with --debug', async () => {
    const env = { IRON_TOKEN: handle.bootstrap?.projectToken ?? '', IRON_PROJECT_ID: api.projectId, IRON_HOST: '127.0.0.1', IRON_PORT: new URL(api.url).port, IRON_SCHEME: 'http' };
    const login = await iron(['docker', 'login', '-u', `canary-user-${tag}`, '--password-stdin', '--debug'], env, `${REGISTRY_PASSWORD}\n`);
    expect(login.code).toBe(0);
    errors.push(login.out);
    const refused = await iron(['cluster', 'list', '--debug'], { ...env, IRON_TOKEN: BAD_TOKEN });
    expect(refused.code).not.toBe(0);
    errors.push(refused.out);
    expect(leaks(login.out, ['project token'])).toEqual([]);
    expect(leaks(refused.out)).toEqual([]);
  }, 60_000);

  it('runs an encrypted task that dumps its environment: no runner secret in it, its own env_vars are', async () => {
    const [id] = await api.client.project.queueTasks([{ code_name: 'envdump', payload: encryptPayload(key.public_pem, PLAINTEXT), cluster: api.clusterId }], AbortSignal.timeout(10_000));
    const t = await waitForTask(api, id ?? '', undefined, 60_000);
    expect(t.status).toBe('complete');
    jobLog = await taskLog(api, id ?? '');
    expect(jobLog).toContain(`TASK_OWN_SETTING=task-visible-${tag}`);
    expect(jobLog).toContain('payload-present');
    expect(jobLog).not.toMatch(/^(CLUSTER_TOKEN|CLUSTER_ID|DECRYPTION_KEY|DB_PASSWORD|API_URL)=/m);
    expect(leaks(jobLog)).toEqual([]);
    await call('get task', 'GET', `/2/projects/${api.projectId}/tasks/${id ?? ''}`, handle.bootstrap?.projectToken);
    // An unencrypted payload on this cluster is refused: its msg must not quote the payload. (The API
    // does return that payload as sent to its own project; the canary list keeps it out for that reason.)
    const unencrypted = `user-sent-unencrypted-${tag}`;
    const [bad] = await api.client.project.queueTasks([{ code_name: 'envdump', payload: unencrypted, cluster: api.clusterId }], AbortSignal.timeout(10_000));
    const tb = await waitForTask(api, bad ?? '', undefined, 60_000);
    expect(tb.status).toBe('error');
    expect(tb.msg).toMatch(/payload/);
    expect(tb.msg).not.toContain(unencrypted);
    expect(runner.stderr.join('\n')).not.toContain(unencrypted);
    errors.push(tb.msg ?? '');
    await call('get refused task', 'GET', `/2/projects/${api.projectId}/tasks/${bad ?? ''}`, handle.bootstrap?.projectToken);
  }, 90_000);

  it('API responses and error bodies carry none of the canaries', async () => {
    const pt = handle.bootstrap?.projectToken;
    await call('list tasks', 'GET', `/2/projects/${api.projectId}/tasks`, pt);
    await call('list codes', 'GET', `/2/projects/${api.projectId}/codes`, pt);
    await call('project', 'GET', `/2/projects/${api.projectId}`, pt);
    await call('clusters', 'GET', '/2/clusters', pt);
    await call('cluster (owner)', 'GET', `/2/clusters/${api.clusterId}`, pt);
    await call('cluster (runner)', 'GET', `/2/clusters/${api.clusterId}`, api.clusterToken);
    await call('stats', 'GET', `/2/clusters/${api.clusterId}/stats`, pt);
    await call('bad token', 'GET', `/2/projects/${api.projectId}`, BAD_TOKEN);
    await call('bad token in query', 'GET', `/2/projects/${api.projectId}?oauth=${BAD_TOKEN}`, undefined);
    await call('cluster token on project api', 'GET', `/2/projects/${api.projectId}/tasks`, api.clusterToken);
    await call('project token on runner api', 'POST', `/2/clusters/${api.clusterId}/runner/reserve`, pt, { instance_id: 'x', n: 1 });
    await call('bad credentials', 'POST', `/2/projects/${api.projectId}/credentials`, pt, { auth: `${REGISTRY_PASSWORD}!!` });
    await call('metrics', 'GET', '/metrics', undefined);
    const found = responses.flatMap((r) => leaks(r.text).map((l) => `${r.what}: ${l}`));
    expect(found).toEqual([]);
    expect(errors.flatMap((e) => leaks(e, ['project token']))).toEqual([]);
  });

  it('neither the API log nor the runner log holds any canary', () => {
    const apiText = apiLog.join('');
    const runnerText = runner.stderr.join('\n');
    const apiLeaks = leaks(apiText);
    const runnerLeaks = leaks(runnerText);
    console.log(
      `[security] secrets: canaries=${Object.keys(canaries()).length} api_log_lines=${apiLog.length} runner_log_lines=${runner.stderr.length} responses_checked=${responses.length} job_env_bytes=${jobLog.length} leaks api=${apiLeaks.length} runner=${runnerLeaks.length}`,
    );
    expect(apiLog.length).toBeGreaterThan(10);
    expect(runner.stderr.length).toBeGreaterThan(5);
    expect(apiLeaks).toEqual([]);
    expect(runnerLeaks).toEqual([]);
  });
});
