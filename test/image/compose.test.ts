// docker-compose.yml run by Debian 13's docker compose (scripts/dev puts it in .tools/compose), as a
// newcomer would: one `up` with a preload archive and DEMO_IMAGE completes the demo task, `--scale
// runner=3` gives three polling runners, the host's `iron` works with the iron.json bootstrap wrote,
// a second `up` keeps the credentials, and `down -v` leaves no container or volume behind.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { composeCli, composeEnv, requireCompose, ROOT } from './compose-cli.js';
import { API_IMAGE, docker, dockerRc, JOB_IMAGE, RUNNER_IMAGE } from './stack.js';

const skip = process.env['IRON_SKIP_IMAGE_TESTS'] === '1';
const IRON = path.join(ROOT, 'dist/src/cli/main.js');
const run = promisify(execFile);

describe.skipIf(skip)('docker-compose.yml with docker compose', () => {
  const project = `iron-co-${randomBytes(3).toString('hex')}`;
  const preload = mkdtempSync(path.join(tmpdir(), 'iron-compose-preload-'));
  const client = mkdtempSync(path.join(tmpdir(), 'iron-compose-client-'));
  let env: Record<string, string> = {};

  const compose = composeCli(project, 'docker-compose.yml', () => env);

  beforeAll(async () => {
    requireCompose();
    await docker(['save', '-o', path.join(preload, 'job.tar'), JOB_IMAGE]);
    env = composeEnv({
      IRON_API_IMAGE: API_IMAGE,
      IRON_RUNNER_IMAGE: RUNNER_IMAGE,
      IRON_API_PORT: String(await freePort()),
      IRON_PRELOAD_DIR: preload,
      IRON_CLIENT_DIR: client,
      DEMO_IMAGE: JOB_IMAGE,
    });
  }, 60_000);

  afterAll(async () => {
    await compose(['down', '-v', '--remove-orphans', '-t', '5'], 180_000);
    rmSync(preload, { recursive: true, force: true });
    rmSync(client, { recursive: true, force: true });
  }, 200_000);

  it('first up: preloaded image, demo task complete; --scale runner=3 gives three polling runners; host iron.json works', async () => {
    const t0 = Date.now();
    const up = await compose(['up', '-d', '--no-build', '--pull', 'never', '--scale', 'runner=3']);
    expect(up.code, up.out).toBe(0);
    const demo = await compose(['wait', 'demo'], 240_000);
    const demoLog = (await compose(['logs', '--no-log-prefix', 'demo'])).out;
    console.log(`compose: first up to the demo task's end: ${Date.now() - t0} ms`);
    expect(demo.code, demoLog).toBe(0);
    expect(demo.out).toMatch(/exited with status code 0\s*$/);
    expect(demoLog).toContain('hello from iron-runner on');
    expect(demoLog).toContain('payload: hello world');

    const ids = (await compose(['ps', '-q', 'runner'])).out.trim().split('\n').filter(Boolean);
    expect(ids).toHaveLength(3);
    for (const id of ids) {
      // No anonymous volume for `down` or `docker rm` to leave behind.
      const mounts = JSON.parse(await docker(['inspect', '-f', '{{json .Mounts}}', id])) as Array<{ Type: string; Name?: string }>;
      expect(mounts.filter((m) => m.Type === 'volume' && /^[0-9a-f]{64}$/.test(m.Name ?? ''))).toEqual([]);
      await waitFor(`runner ${id} polling`, async () => ((await dockerRc(['logs', id])).stderr.includes('polling for tasks') ? true : undefined), { timeoutMs: 90_000, everyMs: 500 });
    }

    const hostConfig = JSON.parse(readFileSync(path.join(client, 'iron.json'), 'utf8')) as { host: string; port: number; token: string };
    expect(hostConfig).toMatchObject({ host: '127.0.0.1', port: Number(env['IRON_API_PORT']) });
    const list = await run(process.execPath, [IRON, 'worker', 'list', '--json'], { cwd: client, env: { PATH: env['PATH'] ?? '', HOME: client } });
    expect((JSON.parse(list.stdout) as unknown[]).length).toBeGreaterThanOrEqual(1);

    // A second up keeps the credentials the runners already use.
    const again = await compose(['up', '-d', '--no-build', '--pull', 'never', '--scale', 'runner=3']);
    expect(again.code, again.out).toBe(0);
    expect((await compose(['logs', '--no-log-prefix', 'bootstrap'])).out).toContain('runner credentials already in');
  }, 420_000);

  it('down -v leaves no container and no volume of the project', async () => {
    const down = await compose(['down', '-v', '--remove-orphans', '-t', '5'], 180_000);
    expect(down.code, down.out).toBe(0);
    expect((await docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`])).trim()).toBe('');
    expect((await docker(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`])).trim()).toBe('');
  }, 200_000);
});
