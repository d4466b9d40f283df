// Issue 13 item 12 on the CLI side: `iron worker log` shows job output on a terminal without acting
// on its escape sequences (`--raw` opts out; a pipe gets the bytes as they are), and says a log was
// truncated only when the API's `log_truncated` field says so: a forged marker line is just text.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/context.js';
import { runCli } from '../../src/cli/run.js';
import { TRUNCATED_NOTE } from '../../src/cli/terminal-text.js';
import { call, queue, registerCode, reserve, startTestServer, type TestServer } from '../server/helpers.js';

const HOSTILE =
  'clip\x1b]52;c;SGVsbG8=\x07 \x1b[31mred\x1b[0m\rFAKE \u202Eevil\u202C\tok\r\n' + '[iron-runner] log truncated: output exceeded 10 MiB; the task keeps running, further output is discarded\n';

let s: TestServer;
let dir: string;
beforeAll(async () => {
  s = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), 'iron-cli-log-'));
  await registerCode(s, 'hostile');
});
afterAll(async () => {
  await s?.close();
  await rm(dir, { recursive: true, force: true });
});

function io(tty: boolean): CliIo & { out: Buffer[]; err: string[] } {
  const out: Buffer[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: { write: (t) => out.push(Buffer.from(t)), isTTY: tty },
    stderr: { write: (t) => err.push(Buffer.from(t).toString()), isTTY: tty },
    env: { IRON_TOKEN: s.token, IRON_PROJECT_ID: s.pid, IRON_HOST: '127.0.0.1', IRON_PORT: String(s.handle.port), IRON_SCHEME: 'http' },
    cwd: dir,
    home: dir,
    readStdin: async () => '',
  };
}

async function finishedTask(log: string, truncated: boolean): Promise<string> {
  await queue(s, [{ code_name: 'hostile', payload: '{}' }]);
  const [t] = await reserve(s, 1, 0);
  if (t === undefined) throw new Error('no task');
  const path = `/2/clusters/${s.cid}/runner/tasks/${t.id}`;
  expect((await call(s.url, 'POST', `${path}/log?offset=0&reservation_id=${t.reservation_id}`, { token: s.ctoken, body: log, type: 'application/octet-stream' })).status).toBe(200);
  const body = { reservation_id: t.reservation_id, status: 'complete', ...(truncated ? { log_truncated: true } : {}) };
  expect((await call(s.url, 'POST', `${path}/finish`, { token: s.ctoken, json: body })).status).toBe(200);
  return t.id;
}

describe('iron worker log', () => {
  it('neutralises control sequences on a TTY, and a forged truncation line stays text', async () => {
    const id = await finishedTask(HOSTILE, false);
    const tty = io(true);
    expect(await runCli(['worker', 'log', id], tty, AbortSignal.timeout(10_000))).toBe(0);
    const out = Buffer.concat(tty.out).toString();
    expect(out).not.toMatch(/[\x1b\x07\u202e]|\r(?!\n)/);
    expect(out).toContain('^[[31mred^[[0m^MFAKE <U+202E>evil<U+202C>\tok\r\n');
    expect(out).toContain('[iron-runner] log truncated');
    expect(tty.err.join('')).not.toContain(TRUNCATED_NOTE);
    const raw = io(true);
    expect(await runCli(['worker', 'log', '--raw', id], raw, AbortSignal.timeout(10_000))).toBe(0);
    expect(Buffer.concat(raw.out).toString()).toBe(HOSTILE);
    const pipe = io(false);
    expect(await runCli(['worker', 'log', id], pipe, AbortSignal.timeout(10_000))).toBe(0);
    expect(Buffer.concat(pipe.out).toString()).toBe(HOSTILE);
  });

  it('prints its own marker from the log_truncated field, with and without --follow', async () => {
    const id = await finishedTask('line\n', true);
    for (const args of [
      ['worker', 'log', id],
      ['worker', 'log', '--follow', id],
    ]) {
      const t = io(false);
      expect(await runCli(args, t, AbortSignal.timeout(10_000))).toBe(0);
      expect(Buffer.concat(t.out).toString()).toBe('line\n');
      expect(t.err.join('')).toContain(TRUNCATED_NOTE);
    }
  });
});
