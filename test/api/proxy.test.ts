// Proxy settings (as src/config reads them from HTTP(S)_PROXY / NO_PROXY) route calls through a real
// forwarding proxy; NO_PROXY bypasses it.
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/api/index.js';
import { json, startFakeServer, type FakeServer } from './fake-server.js';

let api: FakeServer;
let proxy: Server;
let proxyUrl: string;
const proxied: string[] = [];
const sockets = new Set<Socket>();

beforeAll(async () => {
  api = await startFakeServer((_req, res) => json(res, 200, { ok: true }));
  proxy = createHttpServer((req, res) => {
    // Absolute-form request (plain http through a proxy): forward it.
    proxied.push(`${req.method ?? ''} ${req.url ?? ''}`);
    const target = new URL(req.url ?? '');
    const up = request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  proxy.on('connect', (req, client: Socket, head: Buffer) => {
    proxied.push(`CONNECT ${req.url ?? ''}`);
    const [host, port] = (req.url ?? '').split(':');
    const up = connect(Number(port), host ?? '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    for (const s of [up, client]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  proxy.closeAllConnections();
  await new Promise<void>((r) => proxy.close(() => r()));
  await api.close();
});

describe('proxy settings', () => {
  it('sends calls through HTTP_PROXY', async () => {
    const c = new HttpClient({ baseUrl: api.url, token: 't', proxy: { httpProxy: proxyUrl } });
    try {
      expect(await c.json({ method: 'GET', path: '/2/via-proxy' }, AbortSignal.timeout(10_000))).toEqual({ ok: true });
    } finally {
      await c.close();
    }
    expect(proxied.some((p) => p.includes(new URL(api.url).host) || p.includes('/2/via-proxy'))).toBe(true);
  });

  it('bypasses the proxy for NO_PROXY hosts', async () => {
    const before = proxied.length;
    const c = new HttpClient({ baseUrl: api.url, token: 't', proxy: { httpProxy: proxyUrl, noProxy: '127.0.0.1' } });
    try {
      expect(await c.json({ method: 'GET', path: '/2/direct' }, AbortSignal.timeout(10_000))).toEqual({ ok: true });
    } finally {
      await c.close();
    }
    expect(proxied.length).toBe(before);
    expect(api.seen.some((s) => s.url === '/2/direct')).toBe(true);
  });
});
