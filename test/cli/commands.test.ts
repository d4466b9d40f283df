// The rest of the command set through the real binary: task inspection, clusters, keygen.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeIronApi } from './fake-iron-api.js';
import { fakeApiEnv, independentDecrypt, runIron } from './helpers.js';
import { encryptPayload } from '../../src/decrypt/index.js';

let api: FakeIronApi;
let dir: string;
let env: Record<string, string>;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ api, dir, env, close } = await fakeApiEnv('iron-cli-cmd-'));
  api.scripts.set('slow', { lines: ['one', 'two', 'three'], final: 'complete', stepMs: 150 });
  expect((await runIron(['register', 'slow'], { env, cwd: dir })).code).toBe(0);
  expect((await runIron(['register', 'idle'], { env, cwd: dir })).code).toBe(0);
});

afterAll(async () => {
  await close();
});

async function queue(code: string): Promise<string> {
  const r = await runIron(['worker', 'queue', '--json', '--label', 'L1', '--priority', '2', '--timeout', '10m', code], { env, cwd: dir });
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { tasks: { id: string }[] };
  return out.tasks[0]?.id ?? '';
}

describe('task commands', () => {
  it('status, list (table and --json), cancel, retry', async () => {
    const id = await queue('idle');
    expect(api.tasks.get(id)).toMatchObject({ label: 'L1', priority: 2, timeout: 600 });
    const status = await runIron(['worker', 'status', id], { env, cwd: dir });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/status:\s+queued/);
    const statusJson = JSON.parse((await runIron(['worker', 'status', '--json', id], { env, cwd: dir })).stdout) as Record<string, unknown>;
    expect(statusJson).toMatchObject({ id, status: 'queued' });
    expect(statusJson).not.toHaveProperty('payload');
    const table = await runIron(['worker', 'list', '--code', 'idle'], { env, cwd: dir });
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+CODE\s+STATUS/);
    expect(table.stdout).toContain(id);
    expect((await runIron(['worker', 'cancel', id], { env, cwd: dir })).code).toBe(0);
    expect(api.tasks.get(id)?.status).toBe('cancelled');
    const cancelled = JSON.parse((await runIron(['worker', 'list', '--json', '--status', 'cancelled'], { env, cwd: dir })).stdout) as { id: string }[];
    expect(cancelled.map((t) => t.id)).toContain(id);
    const retried = await runIron(['worker', 'retry', id], { env, cwd: dir });
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(/Queued task with id='[0-9a-f]{24}' \(retry of /);
    expect((await runIron(['worker', 'status', 'ffffffffffffffffffffffff'], { env, cwd: dir })).code).toBe(4);
    expect((await runIron(['worker', 'list', '--status', 'bogus'], { env, cwd: dir })).code).toBe(2);
  });

  it('log --follow prints the log live until the task ends; plain log afterwards', async () => {
    // A task that has not run has no log yet: 404, exit 4 (no timing involved: 'idle' never runs).
    const early = await runIron(['worker', 'log', await queue('idle')], { env, cwd: dir });
    expect(early.code).toBe(4);
    expect(early.stderr).toContain('no log for task');
    const id = await queue('slow');
    const follow = await runIron(['worker', 'log', '--follow', id], { env, cwd: dir });
    expect(follow.code).toBe(0);
    expect(follow.stdout).toBe('one\ntwo\nthree\n');
    const plain = await runIron(['worker', 'log', id], { env, cwd: dir });
    expect(plain.stdout).toBe('one\ntwo\nthree\n');
  });
});

describe('cluster commands', () => {
  it('create (with sizes), list, show, token, delete', async () => {
    const created = await runIron(['cluster', 'create', '--memory', '512M', '--disk', '2G', 'edge'], { env, cwd: dir });
    expect(created.code).toBe(0);
    const id = /id='([0-9a-f]{24})'/.exec(created.stdout)?.[1] ?? '';
    expect(api.clusters.get(id)).toMatchObject({ name: 'edge', memory: 512 * 1024 ** 2, disk_space: 2 * 1024 ** 3 });
    expect(created.stdout).toContain(`CLUSTER_ID=${id}`);
    expect((await runIron(['cluster', 'list'], { env, cwd: dir })).stdout).toContain('edge');
    expect((await runIron(['cluster', 'show', id], { env, cwd: dir })).stdout).toMatch(/memory:\s+512 MiB/);
    const token = await runIron(['cluster', 'token', id], { env, cwd: dir });
    expect(token.stdout.trim()).toBe(api.clusters.get(id)?.token);
    expect((await runIron(['cluster', 'delete', id], { env, cwd: dir })).code).toBe(0);
    expect(api.clusters.has(id)).toBe(false);
    expect((await runIron(['cluster', 'show', id], { env, cwd: dir })).code).toBe(4);
  });
});

describe('keygen', () => {
  it('writes PKCS#8 / SPKI files with modes 0600 / 0644 that work with the payload format', async () => {
    const out = join(dir, 'k');
    const r = await runIron(['keygen', '--bits', '2048', '--out', out], { env: { HOME: dir }, cwd: dir });
    expect(r.code).toBe(0);
    const priv = await readFile(join(out, 'private_key.pem'), 'utf8');
    const pub = await readFile(join(out, 'public_key.pem'), 'utf8');
    expect(priv).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(pub).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect((await stat(join(out, 'private_key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(out, 'public_key.pem'))).mode & 0o777).toBe(0o644);
    expect(createPrivateKey(priv).asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(createPublicKey(pub).asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(independentDecrypt(priv, encryptPayload(pub, 'round trip')).toString()).toBe('round trip');
    const again = await runIron(['keygen', '--bits', '2048', '--out', out], { env: { HOME: dir }, cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    expect((await runIron(['keygen', '--bits', '1000', '--out', out], { env: { HOME: dir }, cwd: dir })).code).toBe(2);
  });
});
