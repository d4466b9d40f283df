// `iron-runner exec --zip FILE`: a code package run locally through the daemon's sandbox path, with
// the same zip checks and limits (compiled JS under dist/: build first).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { craftZip } from '../helpers/zip-craft.js';

const MAIN = join(import.meta.dirname, '../../dist/src/runner/main.js');
const dir = mkdtempSync(join(tmpdir(), 'iron-exec-zip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; outcome: Record<string, unknown> | undefined }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'exec', ...args], { env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'error' }, timeout: 60_000 }, (err, stdout, stderr) => {
      let outcome: Record<string, unknown> | undefined;
      try {
        outcome = JSON.parse(stderr.trim().split('\n').pop() ?? '') as Record<string, unknown>;
      } catch {
        outcome = undefined;
      }
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, outcome });
    });
  });
}

function zipFile(name: string, zip: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, zip);
  return p;
}

describe('iron-runner exec --zip', () => {
  it('unpacks the package into the working directory and runs a script from it', async () => {
    const zip = zipFile(
      'ok.zip',
      craftZip([
        { name: 'hello.sh', data: 'echo "hi from $(pwd)"; ./bin/tool; echo more > new.txt; cat new.txt\n' },
        { name: 'bin/tool', data: '#!/bin/sh\necho tool\n', mode: 0o100755 },
      ]),
    );
    const r = await run(['--image', 'iron-test/busybox:1', '--zip', zip, '--memory', '48M', '--', 'sh', 'hello.sh']);
    expect(r.stdout).toBe('hi from /task\ntool\nmore\n');
    expect(r.outcome).toMatchObject({ status: 'complete', exit_code: 0 });
    expect(r.code).toBe(0);
  });

  it('refuses an unsafe package before anything runs', async () => {
    const zip = zipFile('bad.zip', craftZip([{ name: '../escape.sh', data: 'echo escaped\n' }]));
    const r = await run(['--image', 'iron-test/busybox:1', '--zip', zip, '--', 'sh', '../escape.sh']);
    expect(r.stdout).toBe('');
    expect(r.outcome).toMatchObject({ status: 'error', code: 'ERR_ZIP_PATH' });
    expect(r.code).toBe(1);
  });

  it('applies the production disk limit to the unpacked package', async () => {
    const zip = zipFile(
      'big.zip',
      craftZip([
        { name: 'run.sh', data: 'echo never\n' },
        { name: 'blob', data: randomBytes(12 * 1024 * 1024) },
      ]),
    );
    const r = await run(['--image', 'iron-test/busybox:1', '--zip', zip, '--memory', '48M', '--disk', '8M', '--', 'sh', 'run.sh']);
    expect(r.stdout).toBe('');
    expect(r.outcome).toMatchObject({ status: 'error' });
    expect(String(r.outcome?.['msg'])).toMatch(/disk limit/);
  });
});
