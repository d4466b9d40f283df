// Every failure the issue lists: one clear line on stderr, no stack trace, a documented exit code.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { type FakeIronApi } from './fake-iron-api.js';
import { fakeApiEnv, runIron, type RunResult } from './helpers.js';

let api: FakeIronApi;
let dir: string;
let env: Record<string, string>;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ api, dir, env, close } = await fakeApiEnv('iron-cli-err-'));
  expect((await runIron(['keygen', '--bits', '1024', '--out', join(dir, 'keys')], { env, cwd: dir })).code).toBe(0);
  expect((await runIron(['register', 'iron/hello'], { env, cwd: dir })).code).toBe(0);
});

afterAll(async () => {
  await close();
});

function oneLine(r: RunResult, code: number, errCode: string): void {
  expect(r.code).toBe(code);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^iron: /);
  expect(r.stderr).toContain(`[${errCode}]`);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('iron CLI errors', () => {
  it("nothing configured: points at IRON_TOKEN and iron-api's iron.json, exit 2", async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty, { recursive: true });
    const r = await runIron(['worker', 'queue', 'iron/hello'], { env: { HOME: empty }, cwd: empty });
    oneLine(r, 2, 'ERR_CLI_NOT_CONFIGURED');
    expect(r.stderr).toContain('IRON_TOKEN');
    expect(r.stderr).toContain('iron.json');
  });

  it('reads ./iron.json when the environment is empty; flags override it', async () => {
    const cwd = join(dir, 'withfile');
    await mkdir(cwd, { recursive: true });
    await writeFile(join(cwd, 'iron.json'), JSON.stringify({ token: api.token, project_id: api.projectId, host: '127.0.0.1', port: api.port, scheme: 'http' }));
    const ok = await runIron(['worker', 'list', '--json'], { env: { HOME: cwd }, cwd });
    expect(ok.code).toBe(0);
    expect(Array.isArray(JSON.parse(ok.stdout))).toBe(true);
    const bad = await runIron(['worker', 'list', '--token', 'wrong-token-value'], { env: { HOME: cwd }, cwd });
    oneLine(bad, 3, 'ERR_API_UNAUTHORIZED');
  });

  it('a broken iron.json is a config error listing the file', async () => {
    const cwd = join(dir, 'broken');
    await mkdir(cwd, { recursive: true });
    await writeFile(join(cwd, 'iron.json'), '{ nope');
    const r = await runIron(['worker', 'list'], { env: { HOME: cwd, IRON_TOKEN: 'x', IRON_PROJECT_ID: 'y' }, cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('iron.json is not valid JSON');
  });

  it('unreachable API: ERR_API_NETWORK, exit 5', async () => {
    // A port nothing listens on (free a moment ago): the connection is refused.
    const port = await freePort();
    const r = await runIron(['worker', 'queue', 'iron/hello'], { env: { ...env, IRON_PORT: String(port) }, cwd: dir });
    oneLine(r, 5, 'ERR_API_NETWORK');
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
  });

  it('401: exit 3, and the rejected token is not echoed', async () => {
    const r = await runIron(['worker', 'queue', 'iron/hello'], { env: { ...env, IRON_TOKEN: 'bad-token-5e1f' }, cwd: dir });
    oneLine(r, 3, 'ERR_API_UNAUTHORIZED');
    expect(r.stderr).not.toContain('bad-token-5e1f');
  });

  it('unknown code: exit 4 with a hint to register it', async () => {
    const r = await runIron(['worker', 'queue', 'no_such_code'], { env, cwd: dir });
    oneLine(r, 4, 'ERR_API_NOT_FOUND');
    expect(r.stderr).toContain('iron register');
  });

  it('unreadable key file (missing, a directory): exit 2, nothing queued', async () => {
    const before = api.tasks.size;
    oneLine(await runIron(['worker', 'queue', '--encryption-key-file', 'nope.pem', 'iron/hello'], { env, cwd: dir }), 2, 'ERR_CLI_FILE');
    oneLine(await runIron(['worker', 'queue', '--encryption-key-file', 'keys', 'iron/hello'], { env, cwd: dir }), 2, 'ERR_CLI_FILE');
    expect(api.tasks.size).toBe(before);
  });

  it('a private key where a public key is expected: exit 2, nothing queued', async () => {
    const before = api.tasks.size;
    const r = await runIron(['worker', 'queue', '--encryption-key-file', 'keys/private_key.pem', '--payload', 'x', 'iron/hello'], { env, cwd: dir });
    oneLine(r, 2, 'ERR_KEY_NOT_PUBLIC');
    expect(r.stderr).not.toContain('BEGIN');
    expect(api.tasks.size).toBe(before);
  });

  it('garbage as a key: exit 2', async () => {
    oneLine(await runIron(['worker', 'queue', '--encryption-key', 'not a pem', 'iron/hello'], { env, cwd: dir }), 2, 'ERR_KEY_INVALID');
  });

  it('usage errors: unknown option, missing value, conflicting flags, bad numbers', async () => {
    oneLine(await runIron(['worker', 'queue', '--bogus', 'iron/hello'], { env, cwd: dir }), 2, 'ERR_CLI_USAGE');
    oneLine(await runIron(['worker', 'queue', 'iron/hello', '--payload'], { env, cwd: dir }), 2, 'ERR_CLI_USAGE');
    oneLine(await runIron(['worker', 'queue', '--payload', 'a', '--payload-file', 'b', 'iron/hello'], { env, cwd: dir }), 2, 'ERR_CLI_USAGE');
    oneLine(await runIron(['worker', 'queue', '--priority', '7', 'iron/hello'], { env, cwd: dir }), 2, 'ERR_CLI_USAGE');
    oneLine(await runIron(['worker', 'queue', '--timeout', '2h', 'iron/hello'], { env, cwd: dir }), 2, 'ERR_CLI_USAGE');
    oneLine(await runIron(['worker', 'frobnicate'], { env, cwd: dir }), 2, 'ERR_CLI_USAGE');
  });

  it('--debug adds the stack trace', async () => {
    const r = await runIron(['--debug', 'worker', 'queue', 'no_such_code'], { env, cwd: dir });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/\n\s+at /);
    expect(r.stderr).not.toContain(api.token);
  });
});
