// Code packages: register a Docker image (or a zip), list, get, delete, revisions, download, stats,
// pause/resume of the task queue, cancel_all.
import { createReadStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { IronError } from '../../errors.js';
import { verifyPackage } from '../../zip/index.js';
import { zipPath } from '../code-package.js';
import { readCodeUpload } from '../code-upload.js';
import { checkName } from '../names.js';
import { HANDLED, type Ctx, type Handler } from '../context.js';
import { badRequest, notFound } from '../http/errors.js';
import type { Router } from '../http/router.js';
import { codeJson, revisionJson } from '../present.js';
import type { Code, CodeInput } from '../store/types.js';
import { imageRefProblem } from '../../protocol/image-ref.js';
import { optEnvVars, optNumber, optPriority, optString, pageOf, queryUnix, reqString } from '../validate.js';

export const MAX_CODES_PER_PROJECT = 1000;

export function registerCodeRoutes(r: Router<Handler>): void {
  r.add('POST', '/2/projects/:pid/codes', async (ctx) => {
    const pid = await ctx.project();
    const upload = await readCodeUpload(ctx);
    try {
      // Refused here with the reason (400, ERR_ZIP_*), so no runner ever sees an unsafe package.
      if (upload.file !== undefined) await verifyPackage(upload.file.path, ctx.deps.config.zipLimits, ctx.signal);
      const input = codeInput(ctx, pid, upload.data, upload.file);
      await checkCodeQuota(ctx, pid, input.name);
      const code = await ctx.deps.store.putCode(input, Date.now());
      // A new revision may raise max_concurrency: tasks waiting for a slot may run now.
      if (code.rev > 1) ctx.deps.wakeups.wakeReady(await ctx.deps.store.readyClustersOf(code.id));
      if (upload.file !== undefined) await rename(upload.file.path, zipPath(ctx, code.historyId));
      await warmImage(ctx, code);
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
    ctx.deps.wakeups.wakeReady(await ctx.deps.store.readyClustersOf(c.id));
    return { msg: 'Resumed' };
  });

  r.add('POST', '/2/projects/:pid/codes/:id/cancel_all', async (ctx) => {
    const c = await code(ctx);
    // Nothing to wake: the slots freed belong to this code, whose queued tasks are cancelled too.
    const n = await ctx.deps.store.cancelAll(c.projectId, c.id, Date.now());
    return { msg: 'Cancelled', cancelled_count: n };
  });
}

/** A new name past the project's quota of codes is refused (a new revision of an existing one is not). */
async function checkCodeQuota(ctx: Ctx, pid: string, name: string): Promise<void> {
  if ((await ctx.deps.store.getCodeByName(pid, name)) !== undefined) return;
  if ((await ctx.deps.store.countCodes(pid)) >= MAX_CODES_PER_PROJECT) {
    throw new IronError('ERR_SERVER_QUOTA', `a project may have at most ${MAX_CODES_PER_PROJECT} codes; delete some first`);
  }
}

async function code(ctx: Ctx): Promise<Code> {
  const pid = await ctx.project();
  const c = await ctx.deps.store.getCode(pid, ctx.id('id', 'code'));
  if (c === undefined) throw notFound('Code not found');
  return c;
}

/**
 * Pre-pull: the new revision's image is listed for the runners of the clusters this project's tasks
 * go to (its own clusters and the install's default cluster), and their parked reserves are woken.
 */
async function warmImage(ctx: Ctx, code: Code): Promise<void> {
  if (code.image === '') return;
  const own = await ctx.deps.store.listClusters(code.projectId, { page: 0, perPage: 100 });
  const shared = await ctx.deps.store.resolveCluster(code.projectId, 'default');
  const ids = [...own.map((c) => c.id), ...(shared === undefined ? [] : [shared.id])];
  ctx.deps.warmups.add(ids, code.image, code.projectId, Date.now());
  // Every parked reserve of those clusters: each runner is to pull, not just one (registrations are rare).
  for (const id of ids) ctx.deps.wakeups.wake(id, Number.POSITIVE_INFINITY);
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
    projectId, name, image,
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
