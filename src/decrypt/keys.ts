// Loading RSA keys for payload crypto. Every failure is an IronError with a stable code, and no message
// ever contains key material (only what kind of key was found).
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { IronError } from '../errors.js';
import { firstPemBlock } from './pem.js';

export const MIN_RSA_BITS = 1024;

export interface LoadedKey {
  readonly key: KeyObject;
  readonly bits: number;
  /** Modulus length in bytes: the size of the RSA block at the start of every payload. */
  readonly blockBytes: number;
}

export function loadPrivateKey(pem: string | Buffer): LoadedKey {
  const block = firstPemBlock(pem.toString());
  if (block === undefined) throw new IronError('ERR_KEY_INVALID', 'no PEM key found (expected "-----BEGIN PRIVATE KEY-----")');
  if (block.label === 'ENCRYPTED PRIVATE KEY' || block.legacyEncrypted) {
    throw new IronError('ERR_KEY_ENCRYPTED', 'the private key is password-protected; give an unencrypted PKCS#8 or PKCS#1 key');
  }
  if (block.label.includes('PUBLIC KEY') || block.label === 'CERTIFICATE') {
    throw new IronError('ERR_KEY_NOT_PRIVATE', `a ${block.label} was given where a private key is needed`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block.text, format: 'pem' });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MISSING_PASSPHRASE') {
      throw new IronError('ERR_KEY_ENCRYPTED', 'the private key is password-protected; give an unencrypted key');
    }
    throw new IronError('ERR_KEY_INVALID', `the ${block.label} could not be parsed`);
  }
  return checkRsa(key, 'private');
}

export function loadPublicKey(pem: string | Buffer): LoadedKey {
  const block = firstPemBlock(pem.toString());
  if (block === undefined) throw new IronError('ERR_KEY_INVALID', 'no PEM key found (expected "-----BEGIN PUBLIC KEY-----")');
  // createPublicKey would happily derive a public key from a private one; refusing keeps private keys
  // out of the places (CLIs, CI variables) where only public keys belong.
  if (block.label.includes('PRIVATE KEY')) {
    throw new IronError('ERR_KEY_NOT_PUBLIC', 'a private key was given where a public key is needed (use public_key.pem)');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: block.text, format: 'pem' });
  } catch {
    throw new IronError('ERR_KEY_INVALID', `the ${block.label} could not be parsed`);
  }
  return checkRsa(key, 'public');
}

function checkRsa(key: KeyObject, kind: 'private' | 'public'): LoadedKey {
  if (key.asymmetricKeyType !== 'rsa') {
    throw new IronError('ERR_KEY_NOT_RSA', `the ${kind} key is ${key.asymmetricKeyType ?? 'not an asymmetric key'}, not RSA`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw new IronError('ERR_KEY_TOO_SMALL', `the RSA ${kind} key has ${bits} bits; at least ${MIN_RSA_BITS} are required`);
  }
  return Object.freeze({ key, bits, blockBytes: Math.ceil(bits / 8) });
}
