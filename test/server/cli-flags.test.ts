// iron-api's command line: a mistyped flag must not start a server on defaults with a fresh data dir
// and new credentials; --version / -v print the version and touch nothing. Real processes in a temp cwd.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/vectors.js';

const MAIN = path.join(REPO_ROOT, 'dist/src/server/main.js');
const cwd = mkdtempSync(path.join(tmpdir(), 'iron-api-flags-'));

function ironApi(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd, encoding: 'utf8', timeout: 20_000, env: { PATH: process.env['PATH'] ?? '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe('iron-api flags', () => {
  it('exits 2 with the usage on an unknown flag, creating nothing', () => {
    for (const args of [['--prot', '9999'], ['--port=9999', '--dta-dir', 'x'], ['-x'], ['token', 'create', '--port', '1'], ['cluster', 'create', '--project', 'p']]) {
      const r = ironApi(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^iron-api: unknown flag -/);
      expect(r.stderr).toContain('Usage: iron-api');
      expect(r.stdout).toBe('');
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('prints the version for --version and -v and exits 0, creating no data dir', () => {
    for (const flag of ['--version', '-v']) {
      const r = ironApi([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^iron-api \d+\.\d+\.\d+\n$/);
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('still takes the known flags of each form', () => {
    const r = ironApi(['token', 'create', '--project', 'p', '--data-dir', path.join(cwd, 'nope')]);
    // Known flags pass the check; the uninitialised data dir is then the problem (exit 2, its own message).
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not initialised');
    rmSync(path.join(cwd, 'nope'), { recursive: true, force: true });
  });
});
