// The shared payload vectors, made by an independent implementation (../shared/vectors/).
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export interface VectorKey {
  id: string;
  bits: number;
  private_pem: string;
  private_format: string;
  public_pem: string;
  public_pem_pkcs1: string;
}
export interface Vector {
  name: string;
  key: string;
  ciphertext: string;
  expect: 'ok' | 'error';
  plaintext_b64?: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '../..');
export const SHARED_DIR = process.env['SHARED_DIR'] ?? path.resolve(REPO_ROOT, '../shared');

export function loadVectors(): { keys: VectorKey[]; vectors: Vector[] } {
  return JSON.parse(readFileSync(path.join(SHARED_DIR, 'vectors/payload-vectors.json'), 'utf8')) as {
    keys: VectorKey[];
    vectors: Vector[];
  };
}

export type IndependentJob = { op: 'decrypt'; private_pem: string; ciphertext: string } | { op: 'encrypt'; public_pem: string; plaintext_b64: string };
export type IndependentResult = { ok: true; plaintext_b64?: string; ciphertext?: string } | { ok: false; error: string };

/** Runs jobs through the independent Python implementation (Debian python3-cryptography). */
export function independent(jobs: IndependentJob[]): IndependentResult[] {
  const out = execFileSync('/usr/bin/python3', [path.join(here, 'independent_crypto.py')], {
    input: JSON.stringify(jobs),
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out.toString()) as IndependentResult[];
}
