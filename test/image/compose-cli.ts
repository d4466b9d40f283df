// Debian 13's docker compose (scripts/dev puts it in .tools/compose), run on one compose file under a
// project name of the test's own, with an environment of the test's own (nothing inherited but PATH
// and HOME, so a developer's IRON_* variables cannot leak in). Never throws: a failed command is its
// exit code and output, which the tests put into their assertion messages.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const COMPOSE = path.join(ROOT, '.tools/compose/usr/libexec/docker/cli-plugins/docker-compose');

export interface ComposeResult {
  code: number;
  out: string;
}

export type Compose = (args: string[], timeoutMs?: number) => Promise<ComposeResult>;

export function requireCompose(): void {
  if (!existsSync(COMPOSE)) throw new Error(`no docker compose at ${COMPOSE}: run scripts/dev test (it installs Debian 13's docker-compose)`);
}

/** The environment a compose command gets: PATH, HOME and `vars`. */
export function composeEnv(vars: Record<string, string>): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', ...vars };
}

/** `docker compose -p PROJECT -f FILE ...` with `env()` read at each call (set in beforeAll). */
export function composeCli(project: string, file: string, env: () => Record<string, string>): Compose {
  return async (args, timeoutMs = 240_000) => {
    try {
      const r = await run(COMPOSE, ['-p', project, '-f', path.join(ROOT, file), ...args], { env: env(), timeout: timeoutMs, maxBuffer: 64 << 20 });
      return { code: 0, out: r.stdout + r.stderr };
    } catch (err) {
      const e = err as { code?: unknown; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, out: (e.stdout ?? '') + (e.stderr ?? '') };
    }
  };
}
