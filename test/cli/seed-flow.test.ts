// The seed's user flow, verbatim, through the real `iron` binary against an API on port 0.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeIronApi } from './fake-iron-api.js';
import { fakeApiEnv, independentDecrypt, runIron } from './helpers.js';

interface Vector {
  name: string;
  key: string;
  ciphertext: string;
  expect: 'ok' | 'error';
  plaintext_b64?: string;
}
interface Vectors {
  keys: { id: string; private_pem: string }[];
  vectors: Vector[];
}

let api: FakeIronApi;
let dir: string;
let env: Record<string, string>;
let close: () => Promise<void>;
const CLUSTER = 'cafe00000000000000000001';

beforeAll(async () => {
  ({ api, dir, env, close } = await fakeApiEnv('iron-cli-seed-'));
  api.scripts.set('iron/hello', { lines: ['Hello World from iron/hello', 'bye'], final: 'complete', stepMs: 120 });
  api.scripts.set('my_task', { lines: [], final: 'complete' });
  api.scripts.set('fails', { lines: ['about to fail'], final: 'error', msg: 'exit code 3', stepMs: 100 });
  const keygen = await runIron(['keygen', '--bits', '2048', '--out', dir], { env, cwd: dir });
  expect(keygen.code).toBe(0);
});

afterAll(async () => {
  await close();
});

const lastTasks = (n: number): FakeIronApi['tasks'] extends Map<string, infer T> ? T[] : never => [...api.tasks.values()].slice(-n);

describe('the independent decryptor used below', () => {
  it('agrees with every shared test vector', async () => {
    const v = JSON.parse(await readFile('/work/shared/vectors/payload-vectors.json', 'utf8')) as Vectors;
    for (const vec of v.vectors) {
      const pem = v.keys.find((k) => k.id === vec.key)?.private_pem ?? '';
      if (vec.expect === 'ok') expect(independentDecrypt(pem, vec.ciphertext).toString('base64'), vec.name).toBe(vec.plaintext_b64 ?? '');
      else expect(() => independentDecrypt(pem, vec.ciphertext), vec.name).toThrow();
    }
  });
});

describe('seed flow', () => {
  it('iron register iron/hello', async () => {
    const r = await runIron(['register', 'iron/hello'], { env, cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const code = api.codes.get('iron/hello');
    expect(code).toMatchObject({ image: 'iron/hello', command: '' });
    expect(r.stdout).toContain(code?.id ?? 'missing');
    await expect(runIron(['register', 'my_task'], { env, cwd: dir })).resolves.toMatchObject({ code: 0 });
    await expect(runIron(['register', 'fails'], { env, cwd: dir })).resolves.toMatchObject({ code: 0 });
  });

  it("iron register with env vars, a name, a tag and a command keeps the command's own flags", async () => {
    const r = await runIron(['register', '-e', 'GREETING=hi there', '--name', 'hello2', '--max-concurrency', '2', 'iron/hello:1.2', 'echo', '-n', 'x'], { env, cwd: dir });
    expect(r.code).toBe(0);
    expect(api.codes.get('hello2')?.raw).toMatchObject({
      name: 'hello2',
      image: 'iron/hello:1.2',
      command: 'echo -n x',
      env_vars: { GREETING: 'hi there' },
      max_concurrency: 2,
    });
  });

  it('iron worker queue --cluster CLUSTER_ID --wait iron/hello shows statuses and the log, exits 0', async () => {
    const r = await runIron(['worker', 'queue', '--cluster', CLUSTER, '--wait', 'iron/hello'], { env, cwd: dir });
    expect(r.code).toBe(0);
    const [task] = lastTasks(1);
    expect(task).toMatchObject({ code_name: 'iron/hello', cluster: CLUSTER, status: 'complete', payload: '' });
    expect(r.stdout).toContain(`Queued task with id='${task?.id ?? ''}'`);
    expect(r.stdout).toContain('Hello World from iron/hello\nbye\n');
    expect(r.stderr).toContain(': running');
    expect(r.stderr).toContain(': complete');
  });

  it('--encryption-key-file: the stored payload is ciphertext that decrypts to the plaintext', async () => {
    const r = await runIron(['worker', 'queue', '--encryption-key-file', 'public_key.pem', '--cluster', CLUSTER, '--payload', 'hello', 'my_task'], { env, cwd: dir });
    expect(r.code).toBe(0);
    const [task] = lastTasks(1);
    const priv = await readFile(join(dir, 'private_key.pem'), 'utf8');
    expect(task?.payload).not.toBe('hello');
    expect(Buffer.from(task?.payload ?? '', 'base64').length).toBe(256 + 5 + 28);
    expect(independentDecrypt(priv, task?.payload ?? '').toString()).toBe('hello');
  });

  it('--encryption-key "$(cat public_key.pem)" through a real shell, and an empty payload is encrypted too', async () => {
    const r = await runIron([], { env, cwd: dir, shell: '"$NODE" "$IRON_BIN" worker queue --encryption-key "$(cat public_key.pem)" --cluster ' + CLUSTER + ' my_task' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [task] = lastTasks(1);
    const priv = await readFile(join(dir, 'private_key.pem'), 'utf8');
    expect(Buffer.from(task?.payload ?? '', 'base64').length).toBe(256 + 28);
    expect(independentDecrypt(priv, task?.payload ?? '').length).toBe(0);
  });

  it('-n 3 gives three tasks, each with its own ciphertext of the same plaintext', async () => {
    const before = api.tasks.size;
    const r = await runIron(['worker', 'queue', '-n', '3', '--encryption-key-file', 'public_key.pem', '--payload-file', 'public_key.pem', 'my_task'], { env, cwd: dir });
    expect(r.code).toBe(0);
    expect(api.tasks.size).toBe(before + 3);
    const tasks = lastTasks(3);
    const priv = await readFile(join(dir, 'private_key.pem'), 'utf8');
    const plain = await readFile(join(dir, 'public_key.pem'));
    expect(new Set(tasks.map((t) => t.payload)).size).toBe(3);
    for (const t of tasks) expect(independentDecrypt(priv, t.payload).equals(plain)).toBe(true);
    expect(r.stdout.match(/Queued task with id=/g)).toHaveLength(3);
  });

  it('--wait on a failing task exits non-zero and prints the msg', async () => {
    const r = await runIron(['worker', 'queue', '--wait', 'fails'], { env, cwd: dir });
    expect(r.code).toBe(6);
    expect(r.stdout).toContain('about to fail');
    expect(r.stderr).toContain('error: exit code 3');
  });

  it('never prints the token, the key or the plaintext, even with --debug', async () => {
    const secret = 'plaintext-7d2c-should-stay-local';
    const r = await runIron(['--debug', 'worker', 'queue', '--encryption-key-file', 'public_key.pem', '--payload', secret, 'my_task'], { env, cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('API call');
    const all = r.stdout + r.stderr;
    const pub = (await readFile(join(dir, 'public_key.pem'), 'utf8')).split('\n')[1] ?? 'x';
    expect(all).not.toContain(api.token);
    expect(all).not.toContain(secret);
    expect(all).not.toContain(pub);
    const sent = api.requests.at(-1)?.body ?? '';
    expect(sent).not.toContain(secret);
  });
});
