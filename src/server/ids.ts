// Ids and timestamps in the shapes Iron clients insist on: 24 lowercase hex chars (the Ruby clients
// check the length) and RFC 3339 strings (the Go clients decode into time.Time).
import { randomBytes } from 'node:crypto';
import { isObjectId } from '../ids.js';

let counter = randomBytes(3).readUIntBE(0, 3);

/** A Mongo ObjectId-style id: 4-byte seconds, 5 random bytes, 3-byte counter. Sortable by creation second. */
export function newId(now = Date.now()): string {
  counter = (counter + 1) % 0x1000000;
  const buf = Buffer.alloc(12);
  buf.writeUInt32BE(Math.floor(now / 1000) >>> 0, 0);
  randomBytes(5).copy(buf, 4);
  buf.writeUIntBE(counter, 9, 3);
  return buf.toString('hex');
}

export function isId(value: string): boolean {
  return isObjectId(value);
}

/** A bearer secret: 32 url-safe characters (192 bits). */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** RFC 3339 with milliseconds and Z, or the Go zero time for "never" (what Iron's docs show). */
export function rfc3339(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '0001-01-01T00:00:00Z';
  return new Date(ms).toISOString();
}
