// `iron-runner exec` as a real process (compiled JS under dist/: run `npx tsc -p tsconfig.build.json` first).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const MAIN = join(import.meta.dirname, '../../dist/src/runner/main.js');
const dir = mkdtempSync(join(tmpdir(), 'iron-exec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string; outcome: Record<string, unknown> | undefined }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'error' }, timeout: 60_000 }, (err, stdout, stderr) => {
      const last = stderr.trim().split('\n').pop() ?? '';
      let outcome: Record<string, unknown> | undefined;
      try {
        outcome = JSON.parse(last) as Record<string, unknown>;
      } catch {
        outcome = undefined;
      }
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr, outcome });
    });
  });
}

describe('iron-runner exec', () => {
  it('runs a task with payload, config and env, streams stdout and exits 0 on complete', async () => {
    const payload = join(dir, 'payload.json');
    const config = join(dir, 'config.yml');
    writeFileSync(payload, '{"n":42}');
    writeFileSync(config, 'debug: true\n');
    const r = await run([
      'exec',
      '--image',
      'iron-test/busybox:1',
      '--payload-file',
      payload,
      '--config-file',
      config,
      '--env',
      'GREETING=hi there',
      '--memory',
      '48M',
      '--disk',
      '8M',
      '--cpus',
      '0.5',
      '--timeout',
      '20s',
      '--',
      'sh',
      '-c',
      'echo "$GREETING"; cat "$PAYLOAD_FILE"; echo; cat "$CONFIG_FILE"',
    ]);
    expect(r.stdout).toBe('hi there\n{"n":42}\ndebug: true\n');
    expect(r.outcome).toMatchObject({ status: 'complete', msg: '', exit_code: 0 });
    expect(typeof r.outcome?.['duration_ms']).toBe('number');
    expect(r.code).toBe(0);
  });

  it('prints a killed outcome for an OOM and exits 1', async () => {
    const r = await run(['exec', '--image', 'iron-test/busybox:1', '--memory', '32M', '--', 'sh', '-c', 'x=a; while true; do x="$x$x"; done']);
    expect(r.outcome).toMatchObject({ status: 'killed', msg: 'out of memory (limit 32 MiB)', exit_code: 137 });
    expect(r.code).toBe(1);
  });

  it('lists every argument problem at once and exits 2', async () => {
    const r = await run(['exec', '--memory', 'lots', '--timeout', 'soon', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--image is required');
    expect(r.stderr).toContain('--memory must be a size');
    expect(r.stderr).toContain('--timeout must be a duration');
    expect(r.stderr).toContain('unknown argument "--bogus"');
  });

  it('prints usage and the version', async () => {
    expect((await run(['--help'])).stdout).toContain('usage: iron-runner');
    expect((await run(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
