// runCli in-process with a TTY stderr: the spinner line is drawn and erased, and never lands in stdout.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import type { CliIo } from '../../src/cli/context.js';
import { startFakeIronApi, type FakeIronApi } from './fake-iron-api.js';

let api: FakeIronApi;
let dir: string;

beforeAll(async () => {
  api = await startFakeIronApi();
  dir = await mkdtemp(join(tmpdir(), 'iron-cli-tty-'));
  api.scripts.set('ticker', { lines: ['a', 'b'], final: 'complete', stepMs: 400 });
});

afterAll(async () => {
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

function io(tty: boolean): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const text = (t: string | Uint8Array): string => (typeof t === 'string' ? t : Buffer.from(t).toString());
  return {
    out,
    err,
    stdout: { write: (t) => out.push(text(t)), isTTY: tty },
    stderr: { write: (t) => err.push(text(t)), isTTY: tty },
    env: { IRON_TOKEN: api.token, IRON_PROJECT_ID: api.projectId, IRON_HOST: '127.0.0.1', IRON_PORT: String(api.port), IRON_SCHEME: 'http' },
    cwd: dir,
    home: dir,
    readStdin: async () => '',
  };
}

describe('--wait on a TTY', () => {
  it('draws a spinner on stderr, erases it, and keeps stdout clean', async () => {
    const t = io(true);
    expect(await runCli(['register', 'ticker'], t, AbortSignal.timeout(10_000))).toBe(0);
    expect(await runCli(['worker', 'queue', '--wait', 'ticker'], t, AbortSignal.timeout(30_000))).toBe(0);
    const err = t.err.join('');
    expect(err).toMatch(/\r\x1b\[K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] (queued|running) \d+s/);
    expect(err.endsWith('\n') || err.endsWith('\r\x1b[K')).toBe(true);
    const out = t.out.join('');
    expect(out).toContain('a\nb\n');
    expect(out).not.toContain('\x1b');
  });

  it('an aborted wait ends with exit code 130', async () => {
    const t = io(false);
    expect(await runCli(['register', 'idle'], t, AbortSignal.timeout(10_000))).toBe(0);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 500);
    expect(await runCli(['worker', 'queue', '--wait', 'idle'], t, ac.signal)).toBe(130);
    expect(t.err.join('')).not.toContain('\x1b');
  });
});
