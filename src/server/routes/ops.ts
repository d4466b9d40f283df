// Operational endpoints (no auth): health for load balancers and Prometheus metrics.
import { HANDLED, type Handler } from '../context.js';
import type { Router } from '../http/router.js';

export function registerOpsRoutes(r: Router<Handler>): void {
  r.add('GET', '/healthz', async (ctx) => {
    // A trivial store read proves the database answers, not just the socket.
    await ctx.deps.store.isEmpty();
    return { status: 'ok' };
  });
  r.add('GET', '/metrics', async (ctx) => {
    const text = await ctx.deps.metrics.registry.metrics();
    ctx.res.writeHead(200, { 'content-type': ctx.deps.metrics.registry.contentType, 'content-length': Buffer.byteLength(text) });
    ctx.res.end(text);
    return HANDLED;
  });
  r.add('GET', '/2/stacks', async (ctx) => {
    await ctx.auth();
    return [];
  });
}
