// The seed flow against a real iron-api (src/server) on port 0, configured only by the iron.json it
// writes on first start. The test plays the runner through src/api's runner-protocol client, so
// the CLI's --wait sees real status changes and a real live log.
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunnerClient, type ReservedTask, type RunnerClient } from '../../src/api/index.js';
import { startApi, type Api } from '../helpers/api.js';
import { binBuilt, independentDecrypt, runIron } from './helpers.js';

let server: Api;
let runner: RunnerClient;
let dir: string;
let clusterId: string;
const env = (): Record<string, string> => ({ HOME: dir });

beforeAll(async () => {
  if (!binBuilt()) throw new Error('build first: npx tsc -p tsconfig.build.json');
  dir = await mkdtemp(join(tmpdir(), 'iron-cli-real-'));
  server = await startApi({ dataDir: join(dir, 'data') });
  clusterId = server.clusterId;
  await copyFile(join(dir, 'data', 'iron.json'), join(dir, 'iron.json'));
  runner = createRunnerClient({ baseUrl: server.url, token: server.clusterToken, clusterId });
  const keys = await runIron(['keygen', '--bits', '2048', '--out', dir], { env: env(), cwd: dir });
  expect(keys.code).toBe(0);
});

afterAll(async () => {
  await runner.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Reserves the next task like a runner would, runs `lines` into its log and finishes it. */
async function playRunner(lines: readonly string[], status: 'complete' | 'error', msg = ''): Promise<ReservedTask> {
  const signal = AbortSignal.timeout(30_000);
  let task: ReservedTask | undefined;
  while (task === undefined) [task] = (await runner.runner.reserve({ instance_id: 'test-runner', n: 1, wait: 5 }, signal)).tasks;
  await runner.runner.start(task.id, task.reservation_id, signal);
  let offset = 0;
  for (const line of lines) {
    await new Promise((r) => setTimeout(r, 150));
    offset = (await runner.runner.appendLog(task.id, offset, Buffer.from(`${line}\n`), signal, { reservationId: task.reservation_id })).size;
  }
  await runner.runner.finish(
    task.id,
    {
      reservation_id: task.reservation_id,
      status,
      exit_code: status === 'complete' ? 0 : 3,
      msg,
      duration_ms: 10,
      log_size: offset,
    },
    signal,
  );
  return task;
}

describe('iron CLI against a real iron-api', () => {
  it('seed verbatim: iron register iron/hello; iron worker queue --cluster C --wait iron/hello', async () => {
    const reg = await runIron(['register', 'iron/hello'], { env: env(), cwd: dir });
    expect(reg.stderr).toBe('');
    expect(reg.code).toBe(0);
    const waiting = runIron(['worker', 'queue', '--cluster', clusterId, '--wait', 'iron/hello'], { env: env(), cwd: dir });
    const task = await playRunner(['Hello from iron/hello'], 'complete');
    const r = await waiting;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Hello from iron/hello\n');
    expect(task).toMatchObject({ code_name: 'iron/hello', image: 'iron/hello' });
  });

  it('register, then queue --cluster --wait shows the live log and exits 0', async () => {
    const reg = await runIron(['register', '--name', 'hello', 'iron/hello'], { env: env(), cwd: dir });
    expect(reg.stderr).toBe('');
    expect(reg.code).toBe(0);
    const waiting = runIron(['worker', 'queue', '--cluster', clusterId, '--wait', 'hello'], { env: env(), cwd: dir });
    const task = await playRunner(['Hello World', 'second line'], 'complete');
    const r = await waiting;
    expect(r.stderr).toContain(': complete');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Queued task with id='${task.id}'`);
    expect(r.stdout).toContain('Hello World\nsecond line\n');
    expect(task).toMatchObject({ code_name: 'hello', image: 'iron/hello', payload: '' });
  });

  it('queue --encryption-key-file: the runner receives ciphertext that decrypts to the payload', async () => {
    const q = await runIron(['worker', 'queue', '--encryption-key-file', 'public_key.pem', '--cluster', clusterId, '--payload', 'hello', 'hello'], { env: env(), cwd: dir });
    expect(q.code).toBe(0);
    const task = await playRunner([], 'complete');
    expect(task.payload).not.toBe('hello');
    expect(independentDecrypt(await readFile(join(dir, 'private_key.pem'), 'utf8'), task.payload).toString()).toBe('hello');
  });

  it('queue --encryption-key "$(cat public_key.pem)" -n 3 gives three independently encrypted tasks', async () => {
    const q = await runIron([], { env: env(), cwd: dir, shell: `"$NODE" "$IRON_BIN" worker queue -n 3 --encryption-key "$(cat public_key.pem)" --cluster ${clusterId} --payload p3 hello` });
    expect(q.stderr).toBe('');
    expect(q.code).toBe(0);
    const priv = await readFile(join(dir, 'private_key.pem'), 'utf8');
    const payloads = [];
    for (let i = 0; i < 3; i++) payloads.push((await playRunner([], 'complete')).payload);
    expect(new Set(payloads).size).toBe(3);
    for (const p of payloads) expect(independentDecrypt(priv, p).toString()).toBe('p3');
  });

  it('--wait on a task that fails exits non-zero and prints the msg', async () => {
    const waiting = runIron(['worker', 'queue', '--cluster', clusterId, '--wait', 'hello'], { env: env(), cwd: dir });
    await playRunner(['going down'], 'error', 'exit code 3');
    const r = await waiting;
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('exit code 3');
  });

  it('status, log and list work on the finished tasks', async () => {
    const list = await runIron(['worker', 'list', '--json', '--status', 'error'], { env: env(), cwd: dir });
    expect(list.code).toBe(0);
    const [failed] = JSON.parse(list.stdout) as { id: string; msg: string }[];
    expect(failed?.msg).toBe('exit code 3');
    const log = await runIron(['worker', 'log', failed?.id ?? ''], { env: env(), cwd: dir });
    expect(log.stdout).toBe('going down\n');
    expect((await runIron(['worker', 'status', failed?.id ?? ''], { env: env(), cwd: dir })).stdout).toMatch(/status:\s+error/);
  });

  it('unknown code, bad token and a private key each fail clearly with their exit codes', async () => {
    const unknown = await runIron(['worker', 'queue', 'nope'], { env: env(), cwd: dir });
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('[ERR_API_NOT_FOUND]');
    const bad = await runIron(['worker', 'list', '--token', 'not-the-token'], { env: env(), cwd: dir });
    expect(bad.code).toBe(3);
    const priv = await runIron(['worker', 'queue', '--encryption-key-file', 'private_key.pem', 'hello'], { env: env(), cwd: dir });
    expect(priv.code).toBe(2);
    expect(priv.stderr).toContain('[ERR_KEY_NOT_PUBLIC]');
  });

  it('hints fit the mistake: a wrong --cluster, a wrong project id with a project token, iron --version', async () => {
    await runIron(['register', '--name', 'hinted', 'iron-test/busybox:1', 'true'], { env: env(), cwd: dir });
    const cluster = await runIron(['worker', 'queue', '--cluster', '000000000000000000000000', 'hinted'], { env: env(), cwd: dir });
    expect(cluster.code).toBe(4);
    expect(cluster.stderr).toContain('cluster not found');
    expect(cluster.stderr).not.toContain('iron register');
    expect(cluster.stderr).toContain('iron cluster list');
    const missing = await runIron(['worker', 'queue', 'never-registered'], { env: env(), cwd: dir });
    expect(missing.stderr).toContain('iron register IMAGE');
    const project = await runIron(['worker', 'list', '--project-id', '000000000000000000000000'], { env: env(), cwd: dir });
    expect(project.code).toBe(3);
    expect(project.stderr).toContain('[ERR_API_FORBIDDEN]');
    expect(project.stderr).not.toContain('cluster token');
    expect(project.stderr).toContain('project id');
    const version = await runIron(['--version'], { env: env(), cwd: dir });
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^iron \d+\.\d+\.\d+\n$/);
  });

  it('cluster create / show / token with the project token', async () => {
    const created = await runIron(['cluster', 'create', '--memory', '512M', 'edge'], { env: env(), cwd: dir });
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const id = /id='([^']+)'/.exec(created.stdout)?.[1] ?? '';
    expect((await runIron(['cluster', 'show', id], { env: env(), cwd: dir })).stdout).toMatch(/memory:\s+512 MiB/);
    const token = await runIron(['cluster', 'token', id], { env: env(), cwd: dir });
    expect(token.code).toBe(0);
    expect(token.stdout.trim().length).toBeGreaterThan(10);
  });
});
