// The HUD as iron-api serves it: a real `vite build` of hud/ into a temp dir, a real server on port
// 0 serving it. Checks the headers the browser's security rests on (CSP, nosniff), the caching of
// hashed assets against index.html, the / redirect, 404s, and that the built page has no inline
// script or style (which the CSP would block).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverConfig } from '../../src/config/server.js';
import { silentLogger } from '../../src/log.js';
import { HUD_CSP, IMMUTABLE } from '../../src/server/http/hud-static.js';
import { startServer, type ServerHandle } from '../../src/server/start.js';

let out: string;
let dataDir: string;
let server: ServerHandle;
let index: string;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'iron-hud-build-'));
  dataDir = await mkdtemp(join(tmpdir(), 'iron-hud-api-'));
  await build({ configFile: join(import.meta.dirname, '../../hud/vite.config.ts'), logLevel: 'silent', build: { outDir: out, emptyOutDir: true } });
  index = await readFile(join(out, 'index.html'), 'utf8');
  server = await startServer({ config: serverConfig({ port: 0, dataDir }), log: silentLogger(), hudDir: out });
});

afterAll(async () => {
  await server?.close();
  await rm(out, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

const get = (path: string): Promise<Response> => fetch(server.url + path, { redirect: 'manual' });

function expectHudHeaders(r: Response): void {
  expect(r.headers.get('content-security-policy')).toBe(HUD_CSP);
  expect(r.headers.get('x-content-type-options')).toBe('nosniff');
}

describe('the built HUD', () => {
  it('has no inline script or style and loads only same-origin hashed assets', async () => {
    // Every <script> has a src and no body; no <style> element, no style= or on*= attribute.
    const scripts = [...index.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/hud\/assets\/[\w-]+-[\w-]{8,}\.js"/);
      expect(body?.trim()).toBe('');
    }
    expect(index).not.toMatch(/<style\b/i);
    expect(index).not.toMatch(/\sstyle=/i);
    expect(index).not.toMatch(/\son[a-z]+=/i);
    expect(index).not.toMatch(/https?:\/\//);
    const assets = await readdir(join(out, 'assets'));
    expect(assets.some((f) => f.endsWith('.css'))).toBe(true);
    // No asset points outside the origin (a CDN, a web font).
    for (const f of assets) expect(await readFile(join(out, 'assets', f), 'utf8')).not.toMatch(/(?:src|href|url\()\s*=?\s*["']?https?:\/\//);
  });
});

describe('iron-api serving the HUD', () => {
  it('redirects / to /hud/', async () => {
    const r = await get('/');
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe('/hud/');
    expectHudHeaders(r);
  });

  it('serves index.html at /hud/ with no-cache and the CSP', async () => {
    for (const path of ['/hud/', '/hud/index.html']) {
      const r = await get(path);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/html/);
      expect(r.headers.get('cache-control')).toBe('no-cache');
      expectHudHeaders(r);
      expect(await r.text()).toBe(index);
    }
  });

  it('serves hashed assets as immutable for a year, with their content types', async () => {
    const refs = [...index.matchAll(/(?:src|href)="(\/hud\/assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
    expect(refs.length).toBeGreaterThanOrEqual(2);
    for (const ref of refs) {
      const r = await get(ref);
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toBe(IMMUTABLE);
      expect(r.headers.get('content-type')).toMatch(ref.endsWith('.js') ? /^(text|application)\/javascript/ : /^text\/css/);
      expectHudHeaders(r);
      expect(await r.text()).toBe(await readFile(join(out, ref.slice('/hud/'.length)), 'utf8'));
    }
  });

  it('answers 404 for an unknown asset and never serves outside dist/hud', async () => {
    for (const path of ['/hud/assets/index-00000000.js', '/hud/nope.html', '/hud/%2e%2e/package.json', '/hud/..%2fpackage.json']) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      await r.body?.cancel();
    }
  });

  it('tells a project token its project (the sign-in check) and refuses a bad one', async () => {
    const b = server.bootstrap;
    if (b === null) throw new Error('fresh data dir expected');
    const ok = await fetch(`${server.url}/2/whoami`, { headers: { authorization: `OAuth ${b.projectToken}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ project_id: b.projectId });
    const bad = await fetch(`${server.url}/2/whoami`, { headers: { authorization: 'OAuth not-a-token' } });
    expect(bad.status).toBe(401);
    await bad.body?.cancel();
    const cluster = await fetch(`${server.url}/2/whoami`, { headers: { authorization: `OAuth ${b.clusterToken}` } });
    expect(cluster.status).toBe(403);
    await cluster.body?.cancel();
  });
});
