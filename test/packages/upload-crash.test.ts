// Issue 13 item 1: a multipart code upload whose file part is cut short, or whose client hangs up
// mid-body, used to end iron-api with an unhandled rejection and leave upload-*.zip in the data dir.
// iron-api runs here as its own process (an unhandled rejection ends a process, not a test).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/vectors.js';

const SERVER_MAIN = path.join(REPO_ROOT, 'dist/src/server/main.js');

let proc: ChildProcess;
let dataDir: string;
let port: number;
let pid: string;
let token: string;
let exitCode: number | null | undefined;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'iron-upload-crash-'));
  proc = spawn(process.execPath, [SERVER_MAIN, '--port', '0', '--data-dir', dataDir, '--log-level', 'info'], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.on('exit', (code) => {
    exitCode = code;
  });
  proc.stdout?.resume();
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`iron-api did not start: ${buf}`)), 20_000);
    proc.stderr?.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(buf);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  port = Number(new URL(url).port);
  const cfg = JSON.parse(readFileSync(path.join(dataDir, 'iron.json'), 'utf8')) as { project_id: string; token: string };
  pid = cfg.project_id;
  token = cfg.token;
});

afterAll(() => {
  proc.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

const BOUNDARY = 'xXcutshortXx';

function head(contentLength: number): string {
  return (
    `POST /2/projects/${pid}/codes HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: OAuth ${token}\r\n` +
    `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${contentLength}\r\n\r\n`
  );
}

const FIRST_PART =
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="data"\r\n\r\n{"name":"cut","image":"iron-test/busybox:1"}\r\n` +
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="worker.zip"\r\nContent-Type: application/zip\r\n\r\n`;

/** Sends the head and the start of the file part, then ends the socket (`end`) or destroys it. */
function cutUpload(how: 'end' | 'destroy'): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let answer = '';
    sock.on('data', (c: Buffer) => {
      answer += c.toString();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => resolve(answer));
    sock.write(head(10 * 1024 * 1024));
    sock.write(FIRST_PART);
    sock.write(Buffer.alloc(256 * 1024, 0x50));
    // Let the server open the temp file and start writing before the body stops.
    setTimeout(() => {
      if (how === 'end') sock.end();
      else sock.destroy();
    }, 300);
  });
}

async function healthy(): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5_000) });
  return res.status === 200;
}

/** Temp files of uploads, polled until they are gone (removal runs after the request settled). */
async function leftovers(): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    let names: string[] = [];
    try {
      names = readdirSync(path.join(dataDir, 'code')).filter((n) => n.startsWith('upload-'));
    } catch {
      names = [];
    }
    if (names.length === 0 || Date.now() > deadline) return names;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a cut-short code upload', () => {
  it('survives a file part cut short (client half-closes mid-body), answers /healthz and leaves no temp file', async () => {
    await cutUpload('end');
    await new Promise((r) => setTimeout(r, 500));
    expect(exitCode).toBeUndefined();
    expect(await healthy()).toBe(true);
    expect(await leftovers()).toEqual([]);
  });

  it('survives a client that destroys its socket mid-body, repeatedly', async () => {
    for (let i = 0; i < 5; i++) await cutUpload('destroy');
    await new Promise((r) => setTimeout(r, 500));
    expect(exitCode).toBeUndefined();
    expect(await healthy()).toBe(true);
    expect(await leftovers()).toEqual([]);
  });

  it('still takes a complete upload afterwards', async () => {
    const body = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="data"\r\n\r\n{"name":"whole","image":"iron-test/busybox:1"}\r\n--${BOUNDARY}--\r\n`;
    const res = await fetch(`http://127.0.0.1:${port}/2/projects/${pid}/codes`, {
      method: 'POST',
      headers: { authorization: `OAuth ${token}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
      body,
    });
    expect(res.status).toBe(200);
  });
});
