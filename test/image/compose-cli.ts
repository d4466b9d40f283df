// A compose project of a test's own, run by Debian 13's docker compose (scripts/dev puts it in
// .tools/compose): a unique project name, a free host port for the API, temp folders for the preload
// archive and the host's iron.json, and an environment of the test's own (nothing inherited but PATH
// and HOME, so a developer's IRON_* variables cannot leak in). Commands never throw: a failed one is
// its exit code and output, which the tests put into their assertion messages.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../helpers/ports.js';
import { API_IMAGE, docker, JOB_IMAGE, RUNNER_IMAGE } from './stack.js';

const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const COMPOSE = path.join(ROOT, '.tools/compose/usr/libexec/docker/cli-plugins/docker-compose');

export interface ComposeResult {
  code: number;
  out: string;
}

export interface DemoRun {
  /** From `up -d` to the demo task's end. */
  ms: number;
  up: ComposeResult;
  wait: ComposeResult;
  log: string;
}

export class ComposeProject {
  readonly name: string;
  readonly preload = mkdtempSync(path.join(tmpdir(), 'iron-compose-preload-'));
  readonly client = mkdtempSync(path.join(tmpdir(), 'iron-compose-client-'));
  env: Record<string, string> = {};

  /** `file` relative to the repository root. */
  constructor(
    prefix: string,
    private readonly file: string,
  ) {
    this.name = `${prefix}-${randomBytes(3).toString('hex')}`;
  }

  /** For beforeAll: the job image as the preload archive, and the environment (`vars` on top). */
  async prepare(vars: Record<string, string> = {}): Promise<void> {
    if (!existsSync(COMPOSE)) throw new Error(`no docker compose at ${COMPOSE}: run scripts/dev test (it installs Debian 13's docker-compose)`);
    await docker(['save', '-o', path.join(this.preload, 'job.tar'), JOB_IMAGE]);
    this.env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/root',
      IRON_API_IMAGE: API_IMAGE,
      IRON_RUNNER_IMAGE: RUNNER_IMAGE,
      IRON_API_PORT: String(await freePort()),
      IRON_PRELOAD_DIR: this.preload,
      IRON_CLIENT_DIR: this.client,
      DEMO_IMAGE: JOB_IMAGE,
      ...vars,
    };
  }

  async compose(args: string[], timeoutMs = 240_000): Promise<ComposeResult> {
    try {
      const r = await run(COMPOSE, ['-p', this.name, '-f', path.join(ROOT, this.file), ...args], { env: this.env, timeout: timeoutMs, maxBuffer: 64 << 20 });
      return { code: 0, out: r.stdout + r.stderr };
    } catch (err) {
      const e = err as { code?: unknown; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, out: (e.stdout ?? '') + (e.stderr ?? '') };
    }
  }

  /** `up -d` with the images at hand (nothing built or pulled), then waits for the demo service's end. */
  async upToDemo(extra: string[] = []): Promise<DemoRun> {
    const t0 = Date.now();
    const up = await this.compose(['up', '-d', '--no-build', '--pull', 'never', ...extra]);
    const wait = up.code === 0 ? await this.compose(['wait', 'demo'], 240_000) : up;
    const ms = Date.now() - t0;
    return { ms, up, wait, log: (await this.compose(['logs', '--no-log-prefix', 'demo'])).out };
  }

  async down(): Promise<ComposeResult> {
    return this.compose(['down', '-v', '--remove-orphans', '-t', '5'], 180_000);
  }

  /** What Docker still holds of the project, by compose's own label. */
  async leftovers(): Promise<{ containers: string; networks: string; volumes: string }> {
    const filter = `label=com.docker.compose.project=${this.name}`;
    return {
      containers: (await docker(['ps', '-aq', '--filter', filter])).trim(),
      networks: (await docker(['network', 'ls', '-q', '--filter', filter])).trim(),
      volumes: (await docker(['volume', 'ls', '-q', '--filter', filter])).trim(),
    };
  }

  /** For afterAll: down -v, then the temp folders. */
  async dispose(): Promise<void> {
    await this.down();
    rmSync(this.preload, { recursive: true, force: true });
    rmSync(this.client, { recursive: true, force: true });
  }
}
