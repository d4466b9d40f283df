// Request bodies: bounded reads (a body over the limit is refused before it is buffered), JSON
// objects only, and Iron's rule that a JSON endpoint without a JSON Content-Type gets 406.
import type { IncomingMessage } from 'node:http';
import { IronError } from '../../errors.js';
import { badRequest } from './errors.js';

export async function readBody(req: IncomingMessage, limit: number, idleMs: number): Promise<Buffer> {
  return Buffer.concat(await readBodyParts(req, limit, idleMs));
}

/**
 * The body as the buffers it arrived in, for a consumer that writes them as they are (log chunks:
 * joining them allocated and copied a buffer of the chunk's size per request).
 */
export function readBodyParts(req: IncomingMessage, limit: number, idleMs: number): Promise<Buffer[]> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  // A body that stops arriving is cut after idleMs of silence (the whole request is bounded by the
  // server's requestTimeout too): a trickle cannot hold a connection and its buffers forever. On any
  // refusal reading stops; the caller's error answer closes the connection.
  return new Promise<Buffer[]>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer = setTimeout(onIdle, idleMs);
    function cleanup(): void {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    }
    function fail(err: Error): void {
      cleanup();
      req.pause();
      reject(err);
    }
    function onIdle(): void {
      fail(new IronError('ERR_SERVER_TIMEOUT', `the request body sent nothing for ${idleMs} ms`));
    }
    function onData(chunk: Buffer): void {
      clearTimeout(timer);
      timer = setTimeout(onIdle, idleMs);
      size += chunk.length;
      if (size > limit) fail(tooLarge(limit));
      else chunks.push(chunk);
    }
    function onEnd(): void {
      cleanup();
      resolve(chunks);
    }
    function onError(err: Error): void {
      fail(err);
    }
    function onAborted(): void {
      fail(new IronError('ERR_ABORTED', 'the client closed the request'));
    }
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('aborted', onAborted);
  });
}

function tooLarge(limit: number): IronError {
  return new IronError('ERR_SERVER_TOO_LARGE', `request body is larger than ${limit} bytes`, { details: { limit } });
}

export function isJsonType(contentType: string | undefined): boolean {
  return contentType !== undefined && /\bjson\b/i.test(contentType);
}

/**
 * Parses a JSON object body. Clients send `{}` on GET/DELETE and empty bodies on POST (iron_go3), so
 * an empty body is `{}` whatever the Content-Type; a non-empty one must be declared JSON.
 */
export function parseJsonObject(buf: Buffer, contentType: string | undefined): Record<string, unknown> {
  if (buf.length === 0 || buf.toString('utf8').trim() === '') return {};
  if (!isJsonType(contentType)) {
    throw new IronError('ERR_SERVER_CONTENT_TYPE', 'Content-Type must be application/json');
  }
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw badRequest(`invalid JSON body: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('the JSON body must be an object');
  }
  return value as Record<string, unknown>;
}
