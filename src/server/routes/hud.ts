// The HUD's API side: `/` sends people to the HUD, and /2/whoami tells the HUD which project its
// token belongs to (the sign-in check; Iron's v2 has no such call, its HUD had a session).
import { hudSecurityHeaders, HUD_PREFIX } from '../http/hud-static.js';
import { HANDLED, type Handler } from '../context.js';
import type { Router } from '../http/router.js';

export function registerHudRoutes(r: Router<Handler>): void {
  r.add('GET', '/', async (ctx) => {
    hudSecurityHeaders({ header: (n, v) => ctx.res.setHeader(n, v) });
    ctx.res.writeHead(302, { location: HUD_PREFIX, 'cache-control': 'no-cache', 'content-length': 0 });
    ctx.res.end();
    return HANDLED;
  });

  r.add('GET', '/2/whoami', async (ctx) => {
    const pid = await ctx.projectToken();
    const p = await ctx.deps.services.accounts.project(pid, ctx.signal);
    return { project_id: p.id, project_name: p.name };
  });
}
