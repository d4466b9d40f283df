// https with a self-signed API certificate: refused by default (not retried), trusted via extraCa.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/api/index.js';

let dir: string;
let server: Server;
let url: string;
let cert: string;
let hits = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iron-api-tls-'));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    { stdio: 'ignore' },
  );
  cert = await readFile(join(dir, 'cert.pem'), 'utf8');
  server = createServer({ key: await readFile(join(dir, 'key.pem')), cert }, (_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

describe('TLS trust', () => {
  it('refuses an untrusted certificate once, without retrying', async () => {
    const c = new HttpClient({ baseUrl: url, token: 't', retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 1 } });
    try {
      await expect(c.json({ method: 'GET', path: '/2/x' }, AbortSignal.timeout(10_000))).rejects.toMatchObject({ code: 'ERR_API_NETWORK', retryable: false });
    } finally {
      await c.close();
    }
    expect(hits).toBe(0);
  });

  it('trusts the extra CA bundle on top of the system and bundled roots', async () => {
    const c = new HttpClient({ baseUrl: url, token: 't', extraCa: cert });
    try {
      expect(await c.json({ method: 'GET', path: '/2/x' }, AbortSignal.timeout(10_000))).toEqual({ ok: true });
    } finally {
      await c.close();
    }
  });
});
