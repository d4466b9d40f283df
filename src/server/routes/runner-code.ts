// The runner's code download (docs/protocol.md): the zip of the revision a task was queued with,
// only to the cluster that holds the task and only for its current reservation, so a cluster token
// cannot read other tasks' (or other projects') code by id.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { zipPath } from '../code-package.js';
import { HANDLED, type Handler } from '../context.js';
import { forbidden, notFound } from '../http/errors.js';
import type { Router } from '../http/router.js';

export function registerRunnerCodeRoutes(r: Router<Handler>): void {
  r.add('GET', '/2/clusters/:cid/runner/tasks/:tid/code', async (ctx) => {
    const cid = await ctx.runner();
    const id = ctx.id('tid', 'task');
    const rid = ctx.query.get('reservation_id') ?? '';
    // An empty reservation id matches none (logTarget skips the check only for null).
    const out = await ctx.deps.store.logTarget(cid, id, rid);
    if (!out.ok && out.reason === 'not_found') throw notFound('Task not found in this cluster');
    if (!out.ok || rid === '' || (out.task.status !== 'preparing' && out.task.status !== 'running')) {
      throw forbidden('no current reservation of this task: its code is only served to the runner that holds it');
    }
    const rev = await ctx.deps.store.getRevision(out.task.codeHistoryId);
    if (rev === undefined || rev.codeSize <= 0) throw notFound('The code revision of this task has no code package');
    const path = zipPath(ctx, rev.id);
    const size = await stat(path).then((s) => s.size, () => undefined);
    if (size === undefined) throw notFound('The code package file of this revision is missing on the server');
    ctx.res.writeHead(200, { 'content-type': 'application/zip', 'content-length': size, 'cache-control': 'no-store' });
    await pipeline(createReadStream(path), ctx.res);
    return HANDLED;
  });
}
