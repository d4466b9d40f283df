// docker-compose.yml run by Debian 13's docker compose (scripts/dev puts it in .tools/compose), as a
// newcomer would: one `up` with a preload archive and DEMO_IMAGE completes the demo task, `--scale
// runner=3` gives three polling runners, the host's `iron` works with the iron.json bootstrap wrote,
// a second `up` keeps the credentials, and `down -v` leaves no container, network or volume behind.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { ComposeProject, ROOT } from './compose-cli.js';
import { docker, dockerRc } from './stack.js';

const skip = process.env['IRON_SKIP_IMAGE_TESTS'] === '1';
const IRON = path.join(ROOT, 'dist/src/cli/main.js');
const run = promisify(execFile);

describe.skipIf(skip)('docker-compose.yml with docker compose', () => {
  const project = new ComposeProject('iron-co', 'docker-compose.yml');
  const compose = project.compose.bind(project);

  beforeAll(() => project.prepare(), 60_000);
  afterAll(() => project.dispose(), 200_000);

  it('first up: preloaded image, demo task complete; --scale runner=3 gives three polling runners; host iron.json works', async () => {
    const demo = await project.upToDemo(['--scale', 'runner=3']);
    console.log(`compose: first up to the demo task's end: ${demo.ms} ms`);
    expect(demo.up.code, demo.up.out).toBe(0);
    expect(demo.wait.code, demo.log).toBe(0);
    expect(demo.wait.out).toMatch(/exited with status code 0\s*$/);
    expect(demo.log).toContain('hello from iron-runner on');
    expect(demo.log).toContain('payload: hello world');

    const ids = (await compose(['ps', '-q', 'runner'])).out.trim().split('\n').filter(Boolean);
    expect(ids).toHaveLength(3);
    for (const id of ids) {
      // No anonymous volume for `down` or `docker rm` to leave behind.
      const mounts = JSON.parse(await docker(['inspect', '-f', '{{json .Mounts}}', id])) as Array<{ Type: string; Name?: string }>;
      expect(mounts.filter((m) => m.Type === 'volume' && /^[0-9a-f]{64}$/.test(m.Name ?? ''))).toEqual([]);
      await waitFor(`runner ${id} polling`, async () => ((await dockerRc(['logs', id])).stderr.includes('polling for tasks') ? true : undefined), { timeoutMs: 90_000, everyMs: 500 });
    }

    const hostConfig = JSON.parse(readFileSync(path.join(project.client, 'iron.json'), 'utf8')) as { host: string; port: number; token: string };
    expect(hostConfig).toMatchObject({ host: '127.0.0.1', port: Number(project.env['IRON_API_PORT']) });
    const list = await run(process.execPath, [IRON, 'worker', 'list', '--json'], { cwd: project.client, env: { PATH: project.env['PATH'] ?? '', HOME: project.client } });
    expect((JSON.parse(list.stdout) as unknown[]).length).toBeGreaterThanOrEqual(1);

    // A second up keeps the credentials the runners already use.
    const again = await compose(['up', '-d', '--no-build', '--pull', 'never', '--scale', 'runner=3']);
    expect(again.code, again.out).toBe(0);
    expect((await compose(['logs', '--no-log-prefix', 'bootstrap'])).out).toContain('runner credentials already in');
  }, 420_000);

  it('down -v leaves no container, network or volume of the project', async () => {
    const down = await project.down();
    expect(down.code, down.out).toBe(0);
    expect(await project.leftovers()).toEqual({ containers: '', networks: '', volumes: '' });
  }, 200_000);
});
