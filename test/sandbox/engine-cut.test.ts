// An engine that dies while a wait is pending (it answered 200 and owes the body until the container
// stops) must fail the wait as "engine unavailable", not leave it pending forever. A real engine
// cannot be made to die at exactly that moment on demand (test/reliability/engine.test.ts kills one
// mid-run); this server does what it does on the wire.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isIronError } from '../../src/errors.js';
import { createDockerEngine } from '../../src/sandbox/index.js';

let dir: string;
let server: Server;
let socket: string;
let reply: (c: import('node:net').Socket) => void;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'iron-engine-cut-'));
  socket = path.join(dir, 'docker.sock');
  server = createServer((c) => c.once('data', () => reply(c)));
  await new Promise<void>((r) => server.listen(socket, r));
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n';

describe('container wait against an engine that goes away', () => {
  it('rejects with ERR_ENGINE_UNAVAILABLE when the connection closes before the body', async () => {
    reply = (c) => {
      c.write(HEAD);
      setTimeout(() => c.destroy(), 100);
    };
    const err = await createDockerEngine({ socketPath: socket })
      .containerWait('abc', AbortSignal.timeout(10_000))
      .catch((e: unknown) => e);
    expect(isIronError(err, 'ERR_ENGINE_UNAVAILABLE')).toBe(true);
  });

  it('still returns the status code of a body that arrives', async () => {
    reply = (c) => {
      const body = JSON.stringify({ StatusCode: 7, Error: null });
      c.write(HEAD);
      setTimeout(() => c.end(`${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`), 100);
    };
    expect(await createDockerEngine({ socketPath: socket }).containerWait('abc', AbortSignal.timeout(10_000))).toBe(7);
  });

  it('an abort still wins', async () => {
    reply = (c) => c.write(HEAD);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 100);
    const err = await createDockerEngine({ socketPath: socket })
      .containerWait('abc', ctl.signal)
      .catch((e: unknown) => e);
    expect(isIronError(err, 'ERR_ABORTED'), String(err)).toBe(true);
  });
});
