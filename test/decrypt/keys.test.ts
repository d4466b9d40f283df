import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptPayload, encryptPayload, loadPrivateKey, loadPublicKey } from '../../src/decrypt/index.js';
import type { ErrorCode } from '../../src/errors.js';
import { loadVectors } from '../helpers/vectors.js';

const { keys } = loadVectors();
const k1024 = keys.find((k) => k.bits === 1024);
if (k1024 === undefined) throw new Error('no 1024-bit vector key');

function codeOf(fn: () => unknown): ErrorCode | 'no error' {
  try {
    fn();
    return 'no error';
  } catch (err) {
    const e = err as { code: ErrorCode; message: string };
    // No message may carry key material: not even a line of the base64 body.
    for (const line of k1024!.private_pem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) expect(e.message).not.toContain(line);
    return e.code;
  }
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('key loading', () => {
  it('accepts PKCS#8 and PKCS#1 private keys and SPKI and PKCS#1 public keys', () => {
    const pkcs8 = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const pkcs1 = rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
    const spki = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const pub1 = rsa.publicKey.export({ format: 'pem', type: 'pkcs1' }).toString();
    expect(pkcs1).toContain('BEGIN RSA PRIVATE KEY');
    expect(pub1).toContain('BEGIN RSA PUBLIC KEY');
    for (const priv of [pkcs8, pkcs1]) {
      for (const pub of [spki, pub1]) {
        expect(decryptPayload(loadPrivateKey(priv), encryptPayload(loadPublicKey(pub), 'ok')).toString()).toBe('ok');
      }
    }
    expect(loadPrivateKey(pkcs8).bits).toBe(2048);
    expect(loadPublicKey(spki).blockBytes).toBe(256);
  });

  it('accepts keys pasted with CRLFs, surrounding text, or flattened onto one line by the shell', () => {
    const pem = k1024.private_pem;
    expect(loadPrivateKey(pem.replace(/\n/g, '\r\n')).bits).toBe(1024);
    expect(loadPrivateKey(`junk before\n${pem}\njunk after`).bits).toBe(1024);
    expect(loadPrivateKey(pem.replace(/\n/g, ' ')).bits).toBe(1024);
    expect(loadPublicKey(k1024.public_pem.replace(/\n/g, ' ')).bits).toBe(1024);
  });

  it('refuses a password-protected private key (PKCS#8 and legacy PKCS#1)', () => {
    const enc8 = rsa.privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    const enc1 = rsa.privateKey.export({ format: 'pem', type: 'pkcs1', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    expect(enc8).toContain('ENCRYPTED PRIVATE KEY');
    expect(enc1).toContain('Proc-Type: 4,ENCRYPTED');
    expect(codeOf(() => loadPrivateKey(enc8))).toBe('ERR_KEY_ENCRYPTED');
    expect(codeOf(() => loadPrivateKey(enc1))).toBe('ERR_KEY_ENCRYPTED');
  });

  it('refuses non-RSA keys', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const ed = generateKeyPairSync('ed25519');
    expect(codeOf(() => loadPrivateKey(ec.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()))).toBe('ERR_KEY_NOT_RSA');
    expect(codeOf(() => loadPrivateKey(ed.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()))).toBe('ERR_KEY_NOT_RSA');
    expect(codeOf(() => loadPublicKey(ec.publicKey.export({ format: 'pem', type: 'spki' }).toString()))).toBe('ERR_KEY_NOT_RSA');
  });

  it('refuses a public key where a private one is needed, and the reverse', () => {
    expect(codeOf(() => loadPrivateKey(k1024.public_pem))).toBe('ERR_KEY_NOT_PRIVATE');
    expect(codeOf(() => loadPrivateKey(k1024.public_pem_pkcs1))).toBe('ERR_KEY_NOT_PRIVATE');
    expect(codeOf(() => loadPublicKey(k1024.private_pem))).toBe('ERR_KEY_NOT_PUBLIC');
  });

  it('refuses garbage with ERR_KEY_INVALID', () => {
    expect(codeOf(() => loadPrivateKey(''))).toBe('ERR_KEY_INVALID');
    expect(codeOf(() => loadPrivateKey('not a key at all'))).toBe('ERR_KEY_INVALID');
    expect(codeOf(() => loadPrivateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'))).toBe('ERR_KEY_INVALID');
    expect(codeOf(() => loadPrivateKey(k1024.private_pem.replace(/[A-M]/g, 'z')))).toBe('ERR_KEY_INVALID');
    expect(codeOf(() => loadPublicKey('-----BEGIN PUBLIC KEY-----\n@@@@\n-----END PUBLIC KEY-----'))).toBe('ERR_KEY_INVALID');
  });

  it('refuses RSA keys shorter than 1024 bits', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 768 });
    expect(codeOf(() => loadPrivateKey(small.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()))).toBe('ERR_KEY_TOO_SMALL');
    expect(codeOf(() => loadPublicKey(small.publicKey.export({ format: 'pem', type: 'spki' }).toString()))).toBe('ERR_KEY_TOO_SMALL');
  });

  it('decrypting with the wrong key fails authentication', () => {
    const other = keys.find((k) => k.bits === 1024 && k.id !== k1024.id) ?? {
      private_pem: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    };
    const ct = encryptPayload(k1024.public_pem, 'secret');
    expect(codeOf(() => decryptPayload(other.private_pem, ct))).toBe('ERR_PAYLOAD_AUTH');
  });
});
