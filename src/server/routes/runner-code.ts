// The runner's code download (docs/protocol.md): the zip of the revision a task was queued with,
// only to the cluster that holds the task and only for its current reservation, so a cluster token
// cannot read other tasks' (or other projects') code by id.
import { pipeline } from 'node:stream/promises';
import { HANDLED, type Handler } from '../context.js';
import type { Router } from '../http/router.js';

export function registerRunnerCodeRoutes(r: Router<Handler>): void {
  r.add('GET', '/2/clusters/:cid/runner/tasks/:tid/code', async (ctx) => {
    const cid = await ctx.runner();
    const id = ctx.id('tid', 'task');
    const rid = ctx.query.get('reservation_id') ?? '';
    const file = await ctx.deps.services.reservations.codePackage(cid, id, rid, ctx.signal);
    ctx.res.writeHead(200, { 'content-type': 'application/zip', 'content-length': file.size, 'cache-control': 'no-store' });
    await pipeline(file.stream(ctx.signal), ctx.res);
    return HANDLED;
  });
}
