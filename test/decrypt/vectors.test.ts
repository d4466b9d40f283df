import { describe, expect, it } from 'vitest';
import { decryptPayload, encryptPayload, loadPrivateKey, loadPublicKey } from '../../src/decrypt/index.js';
import { isIronError } from '../../src/errors.js';
import { independent, loadVectors } from '../helpers/vectors.js';

const { keys, vectors } = loadVectors();
const keyById = new Map(keys.map((k) => [k.id, k]));

function keyFor(id: string) {
  const k = keyById.get(id);
  if (k === undefined) throw new Error(`vector key ${id} missing`);
  return k;
}

describe('shared vectors (independent implementation -> ours)', () => {
  it('covers every key size and both private key formats', () => {
    expect(new Set(keys.map((k) => k.bits))).toEqual(new Set([1024, 2048, 4096]));
    expect(new Set(keys.map((k) => k.private_format))).toEqual(new Set(['pkcs8', 'pkcs1']));
    expect(vectors.filter((v) => v.expect === 'ok').length).toBeGreaterThan(10);
    expect(vectors.filter((v) => v.expect === 'error').length).toBeGreaterThan(10);
  });

  for (const v of vectors) {
    it(`${v.name} -> ${v.expect}`, () => {
      const key = loadPrivateKey(keyFor(v.key).private_pem);
      if (v.expect === 'ok') {
        expect(decryptPayload(key, v.ciphertext).toString('base64')).toBe(v.plaintext_b64 ?? '');
      } else {
        let caught: unknown;
        try {
          decryptPayload(key, v.ciphertext);
        } catch (err) {
          caught = err;
        }
        expect(isIronError(caught)).toBe(true);
        expect(['ERR_PAYLOAD_NOT_BASE64', 'ERR_PAYLOAD_TOO_SHORT', 'ERR_PAYLOAD_WRONG_KEY_SIZE', 'ERR_PAYLOAD_AUTH']).toContain((caught as { code: string }).code);
      }
    });
  }
});

describe('ours -> independent implementation', () => {
  const plaintexts = ['', 'hello', '{"user":"alice","n":42}', 'héllo wörld — 日本語 🚀', 'line1\nline2\r\n', 'x'.repeat(65536)];

  for (const k of keys) {
    it(`encryptPayload with ${k.id} (SPKI and PKCS#1 public keys) decrypts independently`, () => {
      const jobs = plaintexts.flatMap((p) =>
        [k.public_pem, k.public_pem_pkcs1].map((pub) => ({
          op: 'decrypt' as const,
          private_pem: k.private_pem,
          ciphertext: encryptPayload(pub, p),
        })),
      );
      const results = independent(jobs);
      const expected = plaintexts.flatMap((p) => [p, p]);
      expect(results.map((r) => (r.ok ? Buffer.from(r.plaintext_b64 ?? '', 'base64').toString() : `ERR ${r.error}`))).toEqual(expected);
    });

    it(`payload size is exactly modulus + n + 28 for ${k.id}`, () => {
      const raw = Buffer.from(encryptPayload(k.public_pem, 'hello world'), 'base64');
      expect(raw.length).toBe(k.bits / 8 + 11 + 28);
    });
  }

  it('independently encrypted payloads decrypt with ours, and every payload uses a fresh key and nonce', () => {
    const k = keyFor('shared-rsa2048');
    const results = independent([1, 2, 3].map((i) => ({ op: 'encrypt' as const, public_pem: k.public_pem, plaintext_b64: Buffer.from(`p${i}`).toString('base64') })));
    const priv = loadPrivateKey(k.private_pem);
    expect(results.map((r) => (r.ok ? decryptPayload(priv, r.ciphertext ?? '').toString() : r.error))).toEqual(['p1', 'p2', 'p3']);
    const pub = loadPublicKey(k.public_pem);
    const a = Buffer.from(encryptPayload(pub, 'same'), 'base64');
    const b = Buffer.from(encryptPayload(pub, 'same'), 'base64');
    expect(a.subarray(0, 256).equals(b.subarray(0, 256))).toBe(false);
    expect(a.subarray(-12).equals(b.subarray(-12))).toBe(false);
  });

  it('WebCrypto (RSA-OAEP SHA-1 + AES-GCM) decrypts what we encrypt', async () => {
    const k = keyFor('shared-rsa4096');
    const ct = Buffer.from(encryptPayload(k.public_pem, 'via webcrypto'), 'base64');
    const der = Buffer.from(loadPrivateKey(k.private_pem).key.export({ format: 'der', type: 'pkcs8' }));
    const rsa = await crypto.subtle.importKey('pkcs8', der, { name: 'RSA-OAEP', hash: 'SHA-1' }, false, ['decrypt']);
    const aesRaw = await crypto.subtle.decrypt({ name: 'RSA-OAEP' }, rsa, ct.subarray(0, 512));
    const aes = await crypto.subtle.importKey('raw', aesRaw, 'AES-GCM', false, ['decrypt']);
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: ct.subarray(-12), tagLength: 128 }, aes, ct.subarray(512, -12));
    expect(Buffer.from(plain).toString()).toBe('via webcrypto');
  });
});
