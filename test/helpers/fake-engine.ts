// A fake Docker engine on a unix socket, for what a real dockerd cannot do on demand: answer with a
// redirect, cut a connection mid-response, or accept and never answer (a hung engine); and a gate in
// front of the real engine that takes it away and brings it back. Every request
// is recorded (method, URL, headers, body) so tests can see what the client sent.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export type FakeHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export interface FakeEngine {
  socket: string;
  requests: Recorded[];
  /** Replaces how requests are answered (default: 200 {}). */
  handle(h: FakeHandler): void;
  close(): Promise<void>;
}

export async function startFakeEngine(): Promise<FakeEngine> {
  const dir = mkdtempSync(path.join(tmpdir(), 'iron-fake-engine-'));
  const socket = path.join(dir, 'docker.sock');
  const requests: Recorded[] = [];
  let handler: FakeHandler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  };
  const server: Server = createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return {
    socket,
    requests,
    handle: (h) => {
      handler = h;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A gate in front of the real engine: a unix socket that passes every connection through to dockerd
 * until `down()`, which cuts the open ones and closes each new one at once (an engine gone away,
 * which a real dockerd cannot be made to do on demand), until `up()`.
 */
export interface EngineGate {
  socket: string;
  readonly isDown: boolean;
  /** Connections turned away since the last `down()`. */
  readonly turnedAwayCount: number;
  down(): void;
  up(): void;
  /** Resolves once `turnedAwayCount` reaches `n` (the client kept trying). */
  turnedAway(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startEngineGate(target = '/var/run/docker.sock'): Promise<EngineGate> {
  const dir = mkdtempSync(path.join(tmpdir(), 'iron-engine-gate-'));
  const socket = path.join(dir, 'docker.sock');
  const open = new Set<Socket>();
  let isDown = false;
  let refused = 0;
  const waiters = new Set<() => void>();
  const server = createNetServer((client) => {
    client.on('error', () => undefined);
    if (isDown) {
      refused++;
      client.destroy();
      for (const w of [...waiters]) w();
      return;
    }
    const upstream = connect(target);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    open.add(client);
    client.on('close', () => open.delete(client));
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return {
    socket,
    get isDown() {
      return isDown;
    },
    get turnedAwayCount() {
      return refused;
    },
    down() {
      isDown = true;
      refused = 0;
      for (const s of open) s.destroy();
    },
    up() {
      isDown = false;
    },
    turnedAway(n, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (refused < n) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the engine gate turned away ${refused} of ${n} connections within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
