// Request bodies: bounded reads (a body over the limit is refused before it is buffered), JSON
// objects only, and Iron's rule that a JSON endpoint without a JSON Content-Type gets 406.
import type { IncomingMessage } from 'node:http';
import { IronError } from '../../errors.js';
import { badRequest } from './errors.js';

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return Buffer.concat(await readBodyParts(req, limit));
}

/**
 * The body as the buffers it arrived in, for a consumer that writes them as they are (log chunks:
 * joining them allocated and copied a buffer of the chunk's size per request).
 */
export async function readBodyParts(req: IncomingMessage, limit: number): Promise<Buffer[]> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return chunks;
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
