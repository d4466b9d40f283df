// Code packages: register a Docker image (or a zip), list, get, delete, revisions, download, stats,
// pause/resume of the task queue, cancel_all.
import { createReadStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { readCodeUpload } from '../code-upload.js';
import { HANDLED, type Ctx, type Handler } from '../context.js';
import { badRequest, notFound } from '../http/errors.js';
import type { Router } from '../http/router.js';
import { codeJson, revisionJson } from '../present.js';
import type { Code, CodeInput } from '../store/types.js';
import { imageRefProblem } from '../../protocol/image-ref.js';
import { optEnvVars, optNumber, optPriority, optString, pageOf, queryUnix, reqString } from '../validate.js';

export function registerCodeRoutes(r: Router<Handler>): void {
  r.add('POST', '/2/projects/:pid/codes', async (ctx) => {
    const pid = await ctx.project();
    const upload = await readCodeUpload(ctx);
    try {
      const input = codeInput(ctx, pid, upload.data, upload.file);
      const code = await ctx.deps.store.putCode(input, Date.now());
      if (upload.file !== undefined) await rename(upload.file.path, zipPath(ctx, code.historyId));
      return { ...codeJson(code), msg: 'Upload successful.' };
    } finally {
      if (upload.file !== undefined) await rm(upload.file.path, { force: true });
    }
  });

  r.add('GET', '/2/projects/:pid/codes', async (ctx) => {
    const pid = await ctx.project();
    return { codes: (await ctx.deps.store.listCodes(pid, pageOf(ctx.query))).map(codeJson) };
  });

  r.add('GET', '/2/projects/:pid/codes/:id', async (ctx) => codeJson(await code(ctx)));

  r.add('DELETE', '/2/projects/:pid/codes/:id', async (ctx) => {
    const c = await code(ctx);
    await ctx.deps.store.deleteCode(c.projectId, c.id, Date.now());
    return { msg: 'Deleted' };
  });

  r.add('GET', '/2/projects/:pid/codes/:id/revisions', async (ctx) => {
    const c = await code(ctx);
    return { revisions: (await ctx.deps.store.listRevisions(c.projectId, c.id, pageOf(ctx.query))).map(revisionJson) };
  });

  r.add('GET', '/2/projects/:pid/codes/:id/download', async (ctx) => {
    const c = await code(ctx);
    const wanted = ctx.query.get('revision');
    let rev = c.rev;
    let historyId = c.historyId;
    if (wanted !== null && wanted !== '') {
      const revs = await ctx.deps.store.listRevisions(c.projectId, c.id, { page: 0, perPage: 100 });
      const found = revs.find((x) => String(x.rev) === wanted);
      if (found === undefined) throw notFound('Revision not found');
      rev = found.rev;
      historyId = found.id;
    }
    const path = zipPath(ctx, historyId);
    const size = await stat(path).then((s) => s.size, () => undefined);
    if (size === undefined) throw notFound('This revision has no code file (a Docker image registration)');
    ctx.res.writeHead(200, {
      'content-type': 'application/zip', 'content-length': size,
      'content-disposition': `attachment; filename=${encodeURIComponent(c.name)}_${rev}.zip`,
    });
    await pipeline(createReadStream(path), ctx.res);
    return HANDLED;
  });

  r.add('GET', '/2/projects/:pid/codes/:id/stats', async (ctx) => {
    const c = await code(ctx);
    const until = queryUnix(ctx.query, 'end_date') ?? Date.now();
    const since = queryUnix(ctx.query, 'start_date') ?? until - 24 * 3600 * 1000;
    return ctx.deps.store.taskCounts({ codeId: c.id, since, until });
  });

  r.add('POST', '/2/projects/:pid/codes/:id/pause_task_queue', async (ctx) => {
    const c = await code(ctx);
    await ctx.deps.store.setCodePaused(c.projectId, c.id, true, Date.now());
    return { msg: 'Paused' };
  });

  r.add('POST', '/2/projects/:pid/codes/:id/resume_task_queue', async (ctx) => {
    const c = await code(ctx);
    await ctx.deps.store.setCodePaused(c.projectId, c.id, false, Date.now());
    ctx.deps.wakeups.wakeAll();
    return { msg: 'Resumed' };
  });

  r.add('POST', '/2/projects/:pid/codes/:id/cancel_all', async (ctx) => {
    const c = await code(ctx);
    const n = await ctx.deps.store.cancelAll(c.projectId, c.id, Date.now());
    ctx.deps.wakeups.wakeAll();
    return { msg: 'Cancelled', cancelled_count: n };
  });
}

async function code(ctx: Ctx): Promise<Code> {
  const pid = await ctx.project();
  const c = await ctx.deps.store.getCode(pid, ctx.id('id', 'code'));
  if (c === undefined) throw notFound('Code not found');
  return c;
}

function zipPath(ctx: Ctx, historyId: string): string {
  return join(ctx.deps.config.dataDir, 'code', `${historyId}.zip`);
}

function codeInput(ctx: Ctx, projectId: string, d: Record<string, unknown>, file: { md5: string; size: number } | undefined): CodeInput {
  const max = ctx.deps.config.maxPayloadBytes;
  const name = reqString(d, 'name');
  // ironcli names a code after its image (`iron register iron/hello` -> "iron/hello"), so slashes are
  // legal; control characters are not (they break logs and tables).
  if (/[\u0000-\u001f\u007f]/.test(name) || name.length > 255) throw badRequest('name must be at most 255 characters without control characters');
  const image = optString(d, 'image', 1024) ?? '';
  if (image === '' && file === undefined) throw badRequest('image is required (or upload a zip as "file")');
  const imageProblem = image === '' ? undefined : imageRefProblem(image);
  if (imageProblem !== undefined) throw badRequest(`image: ${imageProblem}`);
  const maxConcurrency = optNumber(d, 'max_concurrency', -1, 1_000_000);
  return {
    projectId, name, image,
    command: optString(d, 'command', 16 * 1024) ?? '',
    envVars: optEnvVars(d, 'env_vars') ?? {},
    config: optString(d, 'config', max) ?? '',
    runtime: optString(d, 'runtime') ?? '',
    fileName: optString(d, 'file_name') ?? '',
    checksum: file?.md5 ?? '',
    codeSize: file?.size ?? 0,
    defaultPriority: optPriority(d, 'default_priority') ?? null,
    // Omitted, 0 or negative: unlimited.
    maxConcurrency: maxConcurrency === undefined || maxConcurrency <= 0 ? null : maxConcurrency,
    retries: optNumber(d, 'retries', 0, 10) ?? 0,
    retriesDelay: optNumber(d, 'retries_delay', 0, 604_800, { ceil: true }) ?? 0,
  };
}
