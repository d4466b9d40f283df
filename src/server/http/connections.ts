// A cap on open connections that never costs a request in flight. Node's own `maxConnections`
// refuses the newest connection, so a few hundred sockets that never finish their headers (or sit
// idle in keep-alive) would lock out /healthz and every runner. Here, past the cap, the oldest
// connection with no request in flight is closed instead: slowloris sockets and idle keep-alives
// go first; requests being served, uploads and parked long-poll reserves stay. Only when every
// connection is busy is the new one refused.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as TlsServer } from 'node:https';
import type { Socket } from 'node:net';

export function capConnections(server: Server | TlsServer, max: number): void {
  // Insertion order is age order; the value counts requests in flight on that socket.
  const open = new Map<Socket, number>();
  server.on('connection', (sock: Socket) => {
    open.set(sock, 0);
    sock.once('close', () => open.delete(sock));
    if (open.size <= max) return;
    for (const [s, busy] of open) {
      if (busy === 0 && s !== sock) {
        s.destroy();
        return;
      }
    }
    sock.destroy();
  });
  // TLS servers emit 'connection' with the raw socket and requests on the TLS socket: key by the raw one.
  const rawOf = (req: IncomingMessage): Socket => {
    const s = req.socket as Socket & { _parent?: Socket };
    return s._parent ?? s;
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const sock = rawOf(req);
    const n = open.get(sock);
    if (n === undefined) return;
    open.set(sock, n + 1);
    res.once('close', () => {
      const cur = open.get(sock);
      if (cur !== undefined) open.set(sock, Math.max(0, cur - 1));
    });
  });
}
