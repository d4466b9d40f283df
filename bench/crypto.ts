// Payload crypto against the physical limit: OpenSSL's own RSA private operation and AES-128-GCM
// throughput, measured with `openssl speed` on the same machine in the same run.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { decryptPayload, encryptPayload, loadPrivateKey, loadPublicKey } from '../src/decrypt/index.js';
import { fmt, sampleSync, summarize } from './lib/stats.js';
import { metric, type Metrics } from './lib/results.js';

const SIZES = [1024, 64 * 1024, 1024 * 1024] as const;

/** Bytes per second of `openssl speed -evp aes-128-gcm` for one block size. */
function opensslAesGcm(bytes: number): number {
  const out = execFileSync('openssl', ['speed', '-mr', '-seconds', '1', '-evp', 'aes-128-gcm', '-bytes', String(bytes)], {
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString();
  const line = out.split('\n').find((l) => l.startsWith('+F:'));
  const rate = Number(line?.split(':').at(-1));
  if (!Number.isFinite(rate) || rate <= 0) throw new Error('could not read openssl speed output');
  return rate;
}

/** Private-key operations per second of `openssl speed rsaN`. */
function opensslRsaPrivateOps(bits: number): number {
  const out = execFileSync('openssl', ['speed', '-mr', '-seconds', '1', `rsa${bits}`], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const line = out.split('\n').find((l) => l.startsWith('+F2:'));
  const ops = Number(line?.split(':')[3]);
  if (!Number.isFinite(ops) || ops <= 0) throw new Error('could not read openssl speed rsa output');
  return ops;
}

export async function benchCrypto(print: (line: string) => void): Promise<Metrics> {
  const metrics: Metrics = {};
  print('crypto: decryptPayload vs openssl (RSA private op + AES-128-GCM for the same bytes)');
  for (const bits of [2048, 4096]) {
    const pair = generateKeyPairSync('rsa', { modulusLength: bits });
    const priv = loadPrivateKey(pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    const pub = loadPublicKey(pair.publicKey.export({ format: 'pem', type: 'spki' }).toString());
    const rsaOpMs = 1000 / opensslRsaPrivateOps(bits);
    const empty = encryptPayload(pub, '');
    const unwrap = summarize(sampleSync(() => decryptPayload(priv, empty), 1500));
    const unwrapRatio = unwrap.p50 / rsaOpMs;
    print(`  RSA-${bits} unwrap per task: p50 ${fmt(unwrap.p50, 3)} ms, p95 ${fmt(unwrap.p95, 3)} ms; openssl private op ${fmt(rsaOpMs, 3)} ms; ratio ${fmt(unwrapRatio)}`);
    metrics[`crypto_rsa${bits}_unwrap_ms`] = metric(unwrap.p50, 'ms');
    metrics[`crypto_rsa${bits}_unwrap_ratio`] = metric(unwrapRatio, 'x openssl');
    if (bits !== 2048) continue;
    for (const size of SIZES) {
      const ct = encryptPayload(pub, Buffer.alloc(size, 7));
      const ours = summarize(sampleSync(() => decryptPayload(priv, ct), 1500));
      const aesMs = (size / opensslAesGcm(Math.min(size, 65536))) * 1000;
      const refMs = rsaOpMs + aesMs;
      const ratio = ours.p50 / refMs;
      const label = size >= 1024 * 1024 ? `${size / 1024 / 1024}MiB` : `${size / 1024}KiB`;
      print(
        `  decrypt ${label.padStart(6)}: p50 ${fmt(ours.p50, 3)} ms (${fmt(size / 1024 / 1024 / (ours.p50 / 1000), 1)} MiB/s), p95 ${fmt(ours.p95, 3)} ms; openssl ${fmt(refMs, 3)} ms; ratio ${fmt(ratio)}`,
      );
      metrics[`crypto_decrypt_${label}_ms`] = metric(ours.p50, 'ms');
      metrics[`crypto_decrypt_${label}_ratio`] = metric(ratio, 'x openssl');
    }
  }
  return metrics;
}
