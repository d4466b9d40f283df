// Operational endpoints: health for load balancers (no auth) and Prometheus metrics. /metrics
// without a token shows aggregates only; with `Authorization: Bearer <METRICS_TOKEN>` it adds the
// per-cluster series (cluster ids). A wrong Bearer token is a 401, never a silent downgrade.
import { createHash, timingSafeEqual } from 'node:crypto';
import { IronError } from '../../errors.js';
import { HANDLED, type Ctx, type Handler } from '../context.js';
import type { Router } from '../http/router.js';

export function registerOpsRoutes(r: Router<Handler>): void {
  r.add('GET', '/healthz', async (ctx) => {
    // A trivial store read proves the database answers, not just the socket.
    await ctx.deps.services.accounts.health(ctx.signal);
    return { status: 'ok' };
  });
  r.add('GET', '/metrics', async (ctx) => {
    const m = ctx.deps.metrics;
    const registry = metricsScope(ctx) === 'full' ? m.full : m.registry;
    const text = await registry.metrics();
    ctx.res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    ctx.res.end(text);
    return HANDLED;
  });
  r.add('GET', '/2/stacks', async (ctx) => {
    await ctx.auth();
    return [];
  });
}

function metricsScope(ctx: Ctx): 'public' | 'full' {
  const header = ctx.req.headers.authorization ?? '';
  // Other schemes (an Iron OAuth token) are not metrics credentials: the public view.
  if (!/^\s*bearer\s/i.test(header)) return 'public';
  const given = /^\s*bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  const want = ctx.deps.config.metricsToken;
  if (given === undefined || want === undefined || !sameSecret(given, want)) {
    throw new IronError('ERR_SERVER_UNAUTHORIZED', 'Invalid metrics token (Authorization: Bearer <METRICS_TOKEN>)');
  }
  return 'full';
}

function sameSecret(a: string, b: string): boolean {
  const h = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(h(a), h(b));
}
