// Thousands of random mutations of valid ciphertexts: every one is rejected with a coded error and
// none crashes or returns bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decryptPayload, encryptPayload, loadPrivateKey, loadPublicKey } from '../../src/decrypt/index.js';
import { isIronError } from '../../src/errors.js';
import { loadVectors } from '../helpers/vectors.js';

const key = loadVectors().keys.find((k) => k.bits === 1024);
if (key === undefined) throw new Error('no 1024-bit vector key');
const priv = loadPrivateKey(key.private_pem);
const pub = loadPublicKey(key.public_pem);
const CODES = ['ERR_PAYLOAD_NOT_BASE64', 'ERR_PAYLOAD_TOO_SHORT', 'ERR_PAYLOAD_WRONG_KEY_SIZE', 'ERR_PAYLOAD_AUTH'];

function rejected(payload: string): boolean {
  try {
    decryptPayload(priv, payload);
    return false;
  } catch (err) {
    return isIronError(err) && CODES.includes(err.code);
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('char' as const), at: fc.nat(), ch: fc.constantFrom(...'!*-_.~ \n=A/+'.split('')) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function apply(raw: Buffer, m: Mutation): string {
  switch (m.kind) {
    case 'flip': {
      const b = Buffer.from(raw);
      const i = m.at % b.length;
      b[i] = (b[i] ?? 0) ^ (1 << m.bit);
      return b.toString('base64');
    }
    case 'truncate':
      return raw.subarray(0, m.at % raw.length).toString('base64');
    case 'extend':
      return Buffer.concat([raw, m.bytes]).toString('base64');
    case 'splice': {
      const i = m.at % raw.length;
      return Buffer.concat([raw.subarray(0, i), m.bytes, raw.subarray(i)]).toString('base64');
    }
    case 'char': {
      const s = raw.toString('base64');
      const i = m.at % s.length;
      const out = s.slice(0, i) + m.ch + s.slice(i + 1);
      return out === s ? `${s}${m.ch}` : out;
    }
  }
}

describe('decrypt fuzz', () => {
  it('rejects 4,000 random mutations of valid ciphertexts with a coded error', () => {
    const plaintexts = ['', 'hello', 'x'.repeat(300)];
    const valid = plaintexts.map((p) => Buffer.from(encryptPayload(pub, p), 'base64'));
    fc.assert(
      fc.property(fc.nat({ max: valid.length - 1 }), mutation, (which, m) => {
        const raw = valid[which];
        if (raw === undefined) return false;
        return rejected(apply(raw, m));
      }),
      { numRuns: 4000, seed: 20261122 },
    );
  });

  it('rejects arbitrary strings and arbitrary well-formed base64', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => rejected(s)),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => rejected(Buffer.from(bytes).toString('base64'))),
      { numRuns: 1000 },
    );
  });

  it('never accepts a non-string payload', () => {
    for (const v of [null, undefined, 42, {}, []]) expect(rejected(v as string)).toBe(true);
  });
});
