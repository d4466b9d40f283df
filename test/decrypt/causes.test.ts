// Payload errors name the cause a user can act on (not encrypted / encrypted for a smaller key /
// not authentic), by facts anyone can see (the text, its length), and never more: every tamper of a
// payload long enough for the cluster's key gets one code and one message, whichever part was hit.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptPayload, encryptPayload, loadPrivateKey } from '../../src/decrypt/index.js';
import { isIronError } from '../../src/errors.js';
import { loadVectors } from '../helpers/vectors.js';

const { keys, vectors } = loadVectors();
const byBits = (bits: number) => {
  const k = keys.find((x) => x.bits === bits);
  if (k === undefined) throw new Error(`no ${bits}-bit vector key`);
  return k;
};
const k1024 = byBits(1024);
const k2048 = byBits(2048);
const k4096 = byBits(4096);
const priv2048 = loadPrivateKey(k2048.private_pem);
const OTHER_2048_PUBLIC = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();

function failure(payload: string, key = priv2048): { code: string; message: string } {
  try {
    decryptPayload(key, payload);
  } catch (err) {
    if (!isIronError(err)) throw err;
    return { code: err.code, message: err.message };
  }
  throw new Error('decrypted');
}

function flip(b64: string, at: (len: number) => number): string {
  const raw = Buffer.from(b64, 'base64');
  const i = at(raw.length);
  raw[i] = (raw[i] ?? 0) ^ 0x01;
  return raw.toString('base64');
}

describe('payload errors by cause', () => {
  it('not encrypted: plaintext, JSON, an empty payload, base64 shorter than any encrypted payload', () => {
    expect(failure('{"user":"alice"}').code).toBe('ERR_PAYLOAD_NOT_BASE64');
    expect(failure('hello world').code).toBe('ERR_PAYLOAD_NOT_BASE64');
    for (const p of ['', Buffer.from('hello').toString('base64'), Buffer.alloc(155, 7).toString('base64')]) {
      const f = failure(p);
      expect(f.code, p).toBe('ERR_PAYLOAD_TOO_SHORT');
      expect(f.message).toMatch(/not encrypted/);
    }
  });

  it('a payload encrypted for a smaller key (1024-bit on a 2048-bit cluster) says wrong key size, not "too short"', () => {
    for (const plaintext of ['', 'hello', 'x'.repeat(100)]) {
      const f = failure(encryptPayload(k1024.public_pem, plaintext));
      expect(f.code, plaintext).toBe('ERR_PAYLOAD_WRONG_KEY_SIZE');
      expect(f.message).toMatch(/encrypted for a smaller key than this cluster's 2048-bit key/);
      expect(f.message).not.toMatch(/too short/);
    }
  });

  it('one code and one message for every tamper within the key size, and for another key of the same size', () => {
    const good = encryptPayload(k2048.public_pem, 'a secret payload');
    const cases = {
      rsaBlock: flip(good, () => 3),
      ciphertext: flip(good, () => 256 + 2),
      tag: flip(good, (n) => n - 20),
      nonce: flip(good, (n) => n - 1),
      truncated: Buffer.from(good, 'base64').subarray(0, -1).toString('base64'),
      extended: Buffer.concat([Buffer.from(good, 'base64'), Buffer.from([0])]).toString('base64'),
      otherKeySameSize: encryptPayload(OTHER_2048_PUBLIC, 'a secret payload'),
      largerKey: encryptPayload(k4096.public_pem, 'a secret payload'),
    };
    const seen = new Set(
      Object.entries(cases).map(([name, p]) => {
        const f = failure(p);
        expect(f.code, name).toBe('ERR_PAYLOAD_AUTH');
        return f.message;
      }),
    );
    expect(seen.size).toBe(1);
    expect([...seen][0]).toBe("payload authentication failed: not encrypted with this cluster's public key, or altered");
  });

  it('the shared vectors still fail with one of the coded errors, and their tampers with one message per key', () => {
    const messages = new Map<string, Set<string>>();
    for (const v of vectors.filter((x) => x.expect === 'error')) {
      const k = keys.find((x) => x.id === v.key);
      if (k === undefined) throw new Error(`vector key ${v.key} missing`);
      const f = failure(v.ciphertext, loadPrivateKey(k.private_pem));
      expect(['ERR_PAYLOAD_NOT_BASE64', 'ERR_PAYLOAD_TOO_SHORT', 'ERR_PAYLOAD_WRONG_KEY_SIZE', 'ERR_PAYLOAD_AUTH']).toContain(f.code);
      if (f.code === 'ERR_PAYLOAD_AUTH') messages.set(k.id, (messages.get(k.id) ?? new Set()).add(f.message));
    }
    for (const [id, set] of messages) expect(set.size, id).toBe(1);
  });
});
