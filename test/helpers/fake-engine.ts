// A fake Docker engine on a unix socket, for what a real dockerd cannot do on demand: answer with a
// redirect, cut a connection mid-response, or accept and never answer (a hung engine). Every request
// is recorded (method, URL, headers, body) so tests can see what the client sent.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Recorded { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }

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
