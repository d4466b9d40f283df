// Token authentication. Tokens are stored as SHA-256 hashes; the lookup is by hash (an index probe
// on a value an attacker cannot steer byte by byte) and the match is re-checked in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { IronError } from '../errors.js';
import type { AccountStore } from './store/ports.js';
import type { TokenScope } from './store/records.js';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** `Authorization: OAuth <token>` (Iron's scheme; also accepted case-insensitively) or `?oauth=`. */
export function tokenFrom(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^\s*oauth\s+(\S+)\s*$/i.exec(header);
    if (m?.[1] !== undefined) return m[1];
  }
  const q = query.get('oauth');
  return q === null || q === '' ? undefined : q;
}

export async function authenticate(accounts: AccountStore, token: string | undefined, signal: AbortSignal): Promise<TokenScope> {
  if (token === undefined) {
    throw new IronError('ERR_SERVER_UNAUTHORIZED', 'Invalid authentication: the OAuth token is not provided');
  }
  const hash = hashToken(token);
  const found = await accounts.findToken(hash, signal);
  const stored = Buffer.from(found?.hash ?? '0'.repeat(hash.length));
  const given = Buffer.from(hash);
  if (found === undefined || stored.length !== given.length || !timingSafeEqual(stored, given)) {
    throw new IronError('ERR_SERVER_UNAUTHORIZED', 'Invalid authentication: the OAuth token is invalid');
  }
  return found.scope;
}
