// Reading a code registration: multipart (`data` JSON field plus an optional `file` zip, possibly
// chunked: iron_go3 streams it) or a plain JSON body (the docker-era Ruby client). The zip is
// streamed to disk with an md5, never buffered whole.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import busboy from 'busboy';
import { IronError } from '../errors.js';
import type { Ctx } from './context.js';
import { isJsonType, parseJsonObject } from './http/body.js';
import { badRequest } from './http/errors.js';

export interface UploadedCode {
  readonly data: Record<string, unknown>;
  /** Temp path of the zip, its md5, sha256 and size, when a file part was sent. */
  readonly file?: { readonly path: string; readonly md5: string; readonly sha256: string; readonly size: number };
}

/**
 * Every path out of here (a cut-short part, a client that hangs up, a limit, bad JSON) settles the
 * file write before returning and removes its temp file: a write left running would reject later
 * with nobody listening (an unhandled rejection ends the process) and leave upload-*.zip behind.
 */
export async function readCodeUpload(ctx: Ctx): Promise<UploadedCode> {
  const type = ctx.req.headers['content-type'] ?? '';
  if (isJsonType(type) || type === '') return { data: parseJsonObject(await ctx.body(), type || undefined) };
  if (!/^multipart\/form-data/i.test(type)) throw new IronError('ERR_SERVER_CONTENT_TYPE', 'Content-Type must be multipart/form-data or application/json');
  const dir = join(ctx.deps.config.dataDir, 'code');
  await mkdir(dir, { recursive: true });
  const limit = ctx.deps.config.maxCodeBytes;
  let data: string | undefined;
  let file: UploadedCode['file'];
  let tempPath: string | undefined;
  let fileStream: Readable | undefined;
  let fileWrite: Promise<void> | undefined;
  let failure: Error | undefined;
  let bb: busboy.Busboy;
  try {
    bb = busboy({ headers: ctx.req.headers, limits: { fileSize: limit, fieldSize: ctx.deps.config.maxBodyBytes, files: 1, fields: 20 } });
  } catch (err) {
    throw badRequest(`invalid multipart body: ${(err as Error).message}`);
  }
  bb.on('field', (name, value) => {
    if (name === 'data') data = value;
  });
  bb.on('file', (name, stream) => {
    if (name !== 'file' || fileWrite !== undefined) {
      stream.resume();
      return;
    }
    const path = join(dir, `upload-${randomBytes(8).toString('hex')}.zip`);
    tempPath = path;
    fileStream = stream;
    const md5 = createHash('md5');
    const sha256 = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        md5.update(chunk);
        sha256.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    stream.on('limit', () => {
      failure = new IronError('ERR_SERVER_TOO_LARGE', `code file is larger than ${limit} bytes`, { details: { limit } });
    });
    fileWrite = pipeline(stream, meter, createWriteStream(path, { mode: 0o600 })).then(() => {
      file = { path, md5: md5.digest('hex'), sha256: sha256.digest('hex'), size };
    });
    // Observed at once: it is awaited below on every path, but may reject before that.
    fileWrite.catch(() => undefined);
  });
  try {
    await pipeline(ctx.req, bb);
  } catch (err) {
    failure ??= badRequest(`invalid multipart body: ${(err as Error).message}`);
    // The part's stream may never end once the body is cut: end the write so it settles.
    fileStream?.destroy(failure);
  }
  try {
    await fileWrite;
  } catch (err) {
    failure ??= badRequest(`invalid multipart body: ${(err as Error).message}`);
  }
  const discard = async (): Promise<void> => {
    if (tempPath !== undefined) await rm(tempPath, { force: true });
  };
  if (failure !== undefined || data === undefined) {
    await discard();
    throw failure ?? badRequest('multipart body needs a "data" field with the code as JSON');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch (err) {
    await discard();
    throw badRequest(`invalid JSON in "data": ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    await discard();
    throw badRequest('"data" must be a JSON object');
  }
  return file === undefined ? { data: parsed as Record<string, unknown> } : { data: parsed as Record<string, unknown>, file };
}
