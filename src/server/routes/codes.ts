// Code packages: register a Docker image (or a zip), list, get, delete, revisions, download, stats,
// pause/resume of the task queue, cancel_all.
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { readCodeUpload } from '../code-upload.js';
import { checkName } from '../names.js';
import { HANDLED, type Ctx, type Handler } from '../context.js';
import { badRequest } from '../http/errors.js';
import type { Router } from '../http/router.js';
import { codeJson, revisionJson } from '../present.js';
import type { CodeInput } from '../store/records.js';
import { imageRefProblem } from '../../protocol/image-ref.js';
import { optEnvVars, optNumber, optPriority, optString, pageOf, queryUnix, reqString } from '../validate.js';

export function registerCodeRoutes(r: Router<Handler>): void {
  r.add('POST', '/2/projects/:pid/codes', async (ctx) => {
    const pid = await ctx.project();
    const upload = await readCodeUpload(ctx);
    try {
      const code = await ctx.deps.services.codes.register(upload.file, () => codeInput(ctx, pid, upload.data, upload.file), ctx.signal);
      return { ...codeJson(code), msg: 'Upload successful.' };
    } finally {
      if (upload.file !== undefined) await rm(upload.file.path, { force: true });
    }
  });

  r.add('GET', '/2/projects/:pid/codes', async (ctx) => {
    const pid = await ctx.project();
    return { codes: (await ctx.deps.services.codes.list(pid, pageOf(ctx.query), ctx.signal)).map(codeJson) };
  });

  r.add('GET', '/2/projects/:pid/codes/:id', async (ctx) => {
    const pid = await ctx.project();
    return codeJson(await ctx.deps.services.codes.get(pid, ctx.id('id', 'code'), ctx.signal));
  });

  r.add('DELETE', '/2/projects/:pid/codes/:id', async (ctx) => {
    const pid = await ctx.project();
    await ctx.deps.services.codes.delete(pid, ctx.id('id', 'code'), ctx.signal);
    return { msg: 'Deleted' };
  });

  r.add('GET', '/2/projects/:pid/codes/:id/revisions', async (ctx) => {
    const pid = await ctx.project();
    const id = ctx.id('id', 'code');
    // The page is read once the code is found (a 404 before a 400), as the code is looked up first.
    const revisions = await ctx.deps.services.codes.revisions(pid, id, () => pageOf(ctx.query), ctx.signal);
    return { revisions: revisions.map(revisionJson) };
  });

  r.add('GET', '/2/projects/:pid/codes/:id/download', async (ctx) => {
    const pid = await ctx.project();
    const { code, rev, file } = await ctx.deps.services.codes.download(pid, ctx.id('id', 'code'), ctx.query.get('revision'), ctx.signal);
    ctx.res.writeHead(200, {
      'content-type': 'application/zip',
      'content-length': file.size,
      'content-disposition': `attachment; filename=${encodeURIComponent(code.name)}_${rev}.zip`,
    });
    await pipeline(file.stream(ctx.signal), ctx.res);
    return HANDLED;
  });

  r.add('GET', '/2/projects/:pid/codes/:id/stats', async (ctx) => {
    const pid = await ctx.project();
    return ctx.deps.services.codes.stats(
      pid,
      ctx.id('id', 'code'),
      () => {
        const until = queryUnix(ctx.query, 'end_date') ?? Date.now();
        const since = queryUnix(ctx.query, 'start_date') ?? until - 24 * 3600 * 1000;
        return { since, until };
      },
      ctx.signal,
    );
  });

  r.add('POST', '/2/projects/:pid/codes/:id/pause_task_queue', async (ctx) => {
    const pid = await ctx.project();
    await ctx.deps.services.codes.pause(pid, ctx.id('id', 'code'), ctx.signal);
    return { msg: 'Paused' };
  });

  r.add('POST', '/2/projects/:pid/codes/:id/resume_task_queue', async (ctx) => {
    const pid = await ctx.project();
    await ctx.deps.services.codes.resume(pid, ctx.id('id', 'code'), ctx.signal);
    return { msg: 'Resumed' };
  });

  r.add('POST', '/2/projects/:pid/codes/:id/cancel_all', async (ctx) => {
    const pid = await ctx.project();
    const n = await ctx.deps.services.codes.cancelAll(pid, ctx.id('id', 'code'), ctx.signal);
    return { msg: 'Cancelled', cancelled_count: n };
  });
}

function codeInput(ctx: Ctx, projectId: string, d: Record<string, unknown>, file: { md5: string; sha256: string; size: number } | undefined): CodeInput {
  const max = ctx.deps.config.maxPayloadBytes;
  const name = reqString(d, 'name');
  // ironcli names a code after its image (`iron register iron/hello` -> "iron/hello"), so slashes are legal.
  checkName(name, 'name');
  const image = optString(d, 'image', 1024) ?? '';
  if (image === '' && file === undefined) throw badRequest('image is required (or upload a zip as "file")');
  const imageProblem = image === '' ? undefined : imageRefProblem(image);
  if (imageProblem !== undefined) throw badRequest(`image: ${imageProblem}`);
  const maxConcurrency = optNumber(d, 'max_concurrency', -1, 1_000_000);
  return {
    projectId,
    name,
    image,
    command: optString(d, 'command', 16 * 1024) ?? '',
    envVars: optEnvVars(d, 'env_vars') ?? {},
    config: optString(d, 'config', max) ?? '',
    runtime: optString(d, 'runtime') ?? '',
    fileName: optString(d, 'file_name') ?? '',
    checksum: file?.md5 ?? '',
    codeSize: file?.size ?? 0,
    sha256: file?.sha256 ?? '',
    defaultPriority: optPriority(d, 'default_priority') ?? null,
    // Omitted, 0 or negative: unlimited.
    maxConcurrency: maxConcurrency === undefined || maxConcurrency <= 0 ? null : maxConcurrency,
    retries: optNumber(d, 'retries', 0, 10) ?? 0,
    retriesDelay: optNumber(d, 'retries_delay', 0, 604_800, { ceil: true }) ?? 0,
  };
}
