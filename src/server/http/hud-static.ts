// The HUD's files (dist/hud, built by `npm run build` from hud/) under /hud/, same origin as the API.
// Vite names every asset by its content hash, so assets are cached for a year as immutable, while
// index.html (which names the current hashes) is revalidated on every load. Every HUD answer gets a
// strict Content-Security-Policy: scripts and styles from this origin only, nothing inline, no
// framing, no plugins (docs/security.md).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { invalidEndpoint } from './framework-errors.js';

export const HUD_PREFIX = '/hud/';

export const HUD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

export const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Headers of every HUD answer (the files and the / redirect). */
export function hudSecurityHeaders(reply: { header(name: string, value: string): unknown }): void {
  reply.header('content-security-policy', HUD_CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('cross-origin-opener-policy', 'same-origin');
}

/**
 * dist/hud of the package this file belongs to: found by walking up to package.json, so it is the
 * same from dist/src/server/http (the build, the image's /opt/iron) and src/server/http (tests).
 */
export function defaultHudDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'hud');
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Serves `root` under /hud/; false when it holds no built HUD (then /hud/ is a 404 like any unknown path). */
export function registerHud(app: FastifyInstance, root: string | undefined): boolean {
  if (root === undefined || !existsSync(join(root, 'index.html'))) return false;
  const assets = `${join(root, 'assets')}/`;
  void app.register(async (scope) => {
    // send's own refusals (a malformed or escaping path: 400/403) are a 404 like any file not there.
    scope.setErrorHandler((err: FastifyError) => {
      if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) throw invalidEndpoint();
      throw err;
    });
    await scope.register(fastifyStatic, {
      root,
      prefix: HUD_PREFIX,
      index: false,
      // Files are looked up per request (a rebuilt HUD is served without a restart); dotfiles never.
      wildcard: true,
      dotfiles: 'deny',
      cacheControl: false,
      lastModified: false,
      setHeaders: (reply: FastifyReply, path: string) => {
        hudSecurityHeaders(reply);
        reply.header('cache-control', path.startsWith(assets) ? IMMUTABLE : 'no-cache');
      },
    });
    // The router ignores trailing slashes, so /hud/ is /hud, which the plugin's /hud/* does not match.
    scope.get('/hud', (_request, reply) => reply.sendFile('index.html'));
  });
  return true;
}
