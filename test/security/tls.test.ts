// Native TLS in iron-api with a private CA made in the test: the runner (API_CA_FILE) and the iron
// CLI (IRON_CA_FILE / --ca-file) work over https; a wrong CA is refused and the runner keeps
// retrying without ever being served; plain http to the TLS port gets nothing.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/api/index.js';
import { loadServerConfig, parseArgs, serverConfig } from '../../src/config/server.js';
import { type ServerHandle } from '../../src/server/start.js';
import { IRON_BIN } from '../cli/helpers.js';
import { REPO_ROOT } from '../helpers/vectors.js';
import { containersOf, registerImage, removeNetwork, spawnRunner, startApi, uniqueNetwork, waitForTask, type Api, type RunnerProc } from '../runner/harness.js';
import { makePki, pem, type TestPki } from './certs.js';

let pki: TestPki;
let dataDir: string;
let handle: ServerHandle;
let api: Api;
const network = uniqueNetwork();
const runners: RunnerProc[] = [];

beforeAll(async () => {
  pki = makePki();
  api = await startApi({
    config: (dir) => loadServerConfig(parseArgs(['--tls-cert', pki.certFile, '--tls-key', pki.keyFile, '--data-dir', dir, '--port', '0']), {}),
    extraCa: pem(pki.caFile),
  });
  handle = api.handle;
  dataDir = api.dataDir;
});

afterAll(async () => {
  for (const r of runners) await r.stop('SIGKILL');
  for (const r of runners) {
    try {
      const instance = readFileSync(path.join(r.jobsDir, 'instance-id'), 'utf8').trim();
      expect(await containersOf(instance)).toBe(0);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
    }
    rmSync(r.jobsDir, { recursive: true, force: true });
  }
  await removeNetwork(network);
  await api?.stop();
  pki?.cleanup();
});

describe('iron-api TLS configuration', () => {
  it('is configured by flags or env, and iron.json says https', () => {
    const viaEnv = loadServerConfig(parseArgs([]), { TLS_CERT_FILE: pki.certFile, TLS_KEY_FILE: pki.keyFile, DATA_DIR: dataDir });
    expect(viaEnv.tls?.cert).toContain('BEGIN CERTIFICATE');
    expect(handle.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(JSON.parse(readFileSync(path.join(dataDir, 'iron.json'), 'utf8'))).toMatchObject({ scheme: 'https' });
  });

  it('rejects half a pair, a non-PEM file and a key of another certificate, without echoing key material', () => {
    const key = pem(pki.otherKeyFile);
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ TLS_CERT_FILE: pki.certFile }, /needs both/],
      [{ TLS_CERT_FILE: pki.keyFile, TLS_KEY_FILE: pki.keyFile }, /no PEM certificate/],
      [{ TLS_CERT_FILE: pki.certFile, TLS_KEY_FILE: pki.otherKeyFile }, /cannot be used together/],
      [{ TLS_CERT_FILE: pki.certFile, TLS_KEY_FILE: '/nonexistent/key.pem' }, /cannot be read: ENOENT/],
    ];
    for (const [env, message] of cases) {
      let caught: unknown;
      try {
        loadServerConfig(parseArgs([]), { ...env, DATA_DIR: dataDir });
      } catch (err) {
        caught = err;
      }
      expect(caught).toMatchObject({ code: 'ERR_CONFIG_INVALID' });
      expect((caught as Error).message).toMatch(message);
      expect((caught as Error).message).not.toContain(key.split('\n')[1] ?? 'unreachable');
    }
  });

  it('documents the TLS flags in iron-api --help', async () => {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [path.join(REPO_ROOT, 'dist/src/server/main.js'), '--help'], (err, stdout) =>
        err === null ? resolve(stdout) : reject(new Error(`iron-api --help failed: ${err.message}`)),
      );
    });
    expect(out).toContain('--tls-cert, TLS_CERT_FILE');
    expect(out).toContain('--tls-key, TLS_KEY_FILE');
  });

  it('serves https only: plain http on the same port gets no answer', async () => {
    const port = new URL(handle.url).port;
    const outcome = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/healthz', timeout: 5_000 }, (res) => resolve(`status ${res.statusCode}`));
      req.on('error', (e) => resolve(`error ${(e as { code?: string }).code ?? e.message}`));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
    expect(outcome).toMatch(/^error /);
  });

  it("the test's own client needs the private CA, and trusts it", async () => {
    const untrusted = new HttpClient({ baseUrl: handle.url, token: 't', retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    const wrong = new HttpClient({ baseUrl: handle.url, token: 't', extraCa: pem(pki.wrongCaFile) });
    const trusted = new HttpClient({ baseUrl: handle.url, token: 't', extraCa: pem(pki.caFile) });
    try {
      await expect(untrusted.json({ method: 'GET', path: '/healthz' }, AbortSignal.timeout(10_000))).rejects.toMatchObject({ code: 'ERR_API_NETWORK', retryable: false });
      await expect(wrong.json({ method: 'GET', path: '/healthz' }, AbortSignal.timeout(10_000))).rejects.toMatchObject({ code: 'ERR_API_NETWORK', retryable: false });
      expect(await trusted.json({ method: 'GET', path: '/healthz' }, AbortSignal.timeout(10_000))).toEqual({ status: 'ok' });
    } finally {
      await Promise.all([untrusted.close(), wrong.close(), trusted.close()]);
    }
  });
});

describe('runner and CLI over https', () => {
  it('a runner with API_CA_FILE = the private CA runs a task', async () => {
    await registerImage(api, 'tls-hello', "sh -c 'echo hello over tls'");
    const runner = spawnRunner(api, { JOB_NETWORK: network, API_CA_FILE: pki.caFile, CONCURRENCY: '1' });
    runners.push(runner);
    await runner.waitForEvent('api.connected');
    const [id] = await api.client.project.queueTasks([{ code_name: 'tls-hello', payload: '', cluster: api.clusterId }], AbortSignal.timeout(10_000));
    const t = await waitForTask(api, id ?? '', undefined, 60_000);
    expect(t.status).toBe('complete');
    expect(await runner.stop()).toBe(0);
  }, 90_000);

  it('a runner with the wrong CA is refused with ERR_API_NETWORK, keeps retrying and is never served', async () => {
    const runner = spawnRunner(api, { JOB_NETWORK: network, API_CA_FILE: pki.wrongCaFile, CONCURRENCY: '1' });
    runners.push(runner);
    const isRefusal = (l: Record<string, unknown>): boolean => l['phase'] === 'cluster';
    await runner.waitForEvent('api.failed', (l) => isRefusal(l) && Number(l['attempt']) >= 2, 30_000);
    const refusals = runner.eventLines('api.failed').filter(isRefusal);
    expect(runner.proc.exitCode).toBeNull();
    expect(runner.eventLines('api.connected')).toEqual([]);
    expect(refusals.every((l) => l['code'] === 'ERR_API_NETWORK')).toBe(true);
    const mentionsTls = runner.stderr.some((s) => /CERT|certificate|UNABLE_TO_VERIFY|SELF_SIGNED/i.test(s));
    console.log(`[security] tls wrong-CA runner: refusals=${refusals.length} still_running=${runner.proc.exitCode === null} log_names_certificate=${mentionsTls}`);
    expect(mentionsTls).toBe(true); // the operator is told it is a certificate problem
    await runner.stop();
  }, 60_000);

  it('the iron CLI trusts the CA via IRON_CA_FILE and --ca-file, and refuses without it', async () => {
    const u = new URL(handle.url);
    const env = { IRON_TOKEN: api.handle.bootstrap?.projectToken ?? '', IRON_PROJECT_ID: api.projectId, IRON_HOST: '127.0.0.1', IRON_PORT: u.port, IRON_SCHEME: 'https', HOME: dataDir };
    const cwd = mkdtempSync(path.join(tmpdir(), 'iron-sec-cli-'));
    try {
      const run = (args: string[], extra: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> =>
        new Promise((resolve) => {
          execFile(process.execPath, [IRON_BIN, ...args], { cwd, env: { PATH: process.env['PATH'] ?? '', ...env, ...extra }, timeout: 60_000 }, (err, out, errOut) => {
            resolve({ code: err === null ? 0 : Number((err as { code?: unknown }).code ?? -1), out, err: errOut });
          });
        });
      const viaEnv = await run(['cluster', 'list'], { IRON_CA_FILE: pki.caFile });
      expect(viaEnv.code).toBe(0);
      expect(viaEnv.out).toContain(api.clusterId);
      const viaFlag = await run(['cluster', 'list', '--ca-file', pki.caFile]);
      expect(viaFlag.code).toBe(0);
      const refused = await run(['cluster', 'list', '--ca-file', pki.wrongCaFile]);
      expect(refused.code).not.toBe(0);
      expect(refused.err).toMatch(/certificate|CERT|UNABLE_TO_VERIFY/i);
      expect(refused.err).not.toContain(env.IRON_TOKEN);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 90_000);
});

// serverConfig() (tests, embedders) passes tls through as given.
describe('serverConfig overrides', () => {
  it('keeps a tls override', () => {
    const c = serverConfig({ dataDir, tls: { cert: pem(pki.certFile), key: pem(pki.keyFile) } });
    expect(c.tls?.key).toContain('PRIVATE KEY');
  });
});
