// One version for the three programs: src/version.ts, kept equal to package.json's (which no program
// reads at run time). The built binaries print it (iron here; iron-api in test/server/cli-flags.test.ts).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { REPO_ROOT } from '../helpers/vectors.js';

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };

describe('version', () => {
  it('src/version.ts equals package.json', () => {
    expect(VERSION).toBe(pkg.version);
  });

  it.each([
    ['iron', 'src/cli/main.js', `iron ${pkg.version}\n`],
    ['iron-runner', 'src/runner/main.js', `${pkg.version}\n`],
  ])('%s --version prints it', (_name, main, expected) => {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', main), '--version'], { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env['PATH'] ?? '' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(expected);
  });
});
