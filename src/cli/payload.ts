// Payload and encryption-key handling for `iron worker queue`. The key and the plaintext stay in
// this process: only ciphertext leaves it, and neither value ever goes into a message or a log.
import { encryptPayload, loadPublicKey, type LoadedKey } from '../decrypt/index.js';
import type { Opts } from './args.js';
import type { CliContext } from './context.js';

/** The payload bytes from --payload or --payload-file ("" when neither is given). */
export function readPayload(ctx: CliContext, o: Opts): Buffer {
  const inline = o.str('payload');
  const file = o.str('payload-file');
  if (inline !== undefined && file !== undefined) throw o.fail('give either --payload or --payload-file, not both');
  if (file !== undefined) return ctx.readFile(file, 'payload file');
  return Buffer.from(inline ?? '', 'utf8');
}

/**
 * A PEM pasted through a shell without quotes arrives with its newlines turned into spaces, which
 * PEM parsers reject; put the line structure back (the base64 body cannot contain spaces).
 */
export function normalizePem(text: string): string {
  const m = /^\s*(-----BEGIN [A-Z0-9 ]+-----)\s+([A-Za-z0-9+/=\s]+?)\s+(-----END [A-Z0-9 ]+-----)\s*$/.exec(text);
  if (m === null) return text;
  const body = (m[2] ?? '').replace(/\s+/g, '');
  const lines = body.match(/.{1,64}/g) ?? [];
  return `${m[1]}\n${lines.join('\n')}\n${m[3]}\n`;
}

/** The public key from --encryption-key (PEM text) or --encryption-key-file, validated now. */
export function readEncryptionKey(ctx: CliContext, o: Opts): LoadedKey | undefined {
  const inline = o.str('encryption-key');
  const file = o.str('encryption-key-file');
  if (inline !== undefined && file !== undefined) throw o.fail('give either --encryption-key or --encryption-key-file, not both');
  let pem: string | undefined;
  if (file !== undefined) pem = ctx.readFile(file, 'encryption key file').toString('utf8');
  else if (inline !== undefined) pem = normalizePem(inline);
  if (pem === undefined) return undefined;
  // Fails with ERR_KEY_* (e.g. ERR_KEY_NOT_PUBLIC for a private key) before anything is sent.
  return loadPublicKey(pem);
}

/**
 * The `payload` string of each of `count` tasks. With a key, every task gets its own session key
 * and nonce (ironcli reused one ciphertext for -n copies; fresh ones cost little and leak nothing).
 */
export function taskPayloads(plaintext: Buffer, publicKey: LoadedKey | undefined, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    out.push(publicKey === undefined ? plaintext.toString('utf8') : encryptPayload(publicKey, plaintext));
  }
  return out;
}
