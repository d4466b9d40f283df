// Spawns the compiled `iron` binary (dist/src/cli/main.js; build with tsconfig.build.json first) and an
// independent decryptor written straight from the format (RSA-OAEP-SHA1 key ‖ AES-128-GCM ct ‖ tag ‖ nonce).
import { execFile } from 'node:child_process';
import { constants, createDecipheriv, createPrivateKey, privateDecrypt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startFakeIronApi, type FakeIronApi } from './fake-iron-api.js';

export const IRON_BIN = resolve(import.meta.dirname, '../../dist/src/cli/main.js');
export const binBuilt = (): boolean => existsSync(IRON_BIN);

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runIron(args: readonly string[], opts: { env: Record<string, string>; cwd: string; shell?: string }): Promise<RunResult> {
  const file = opts.shell === undefined ? process.execPath : 'bash';
  const argv = opts.shell === undefined ? [IRON_BIN, ...args] : ['-c', opts.shell];
  return new Promise((resolvePromise) => {
    execFile(
      file,
      argv,
      {
        cwd: opts.cwd,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', IRON_BIN, NODE: process.execPath, ...opts.env },
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}

/** Decrypts an ironcli-format payload with a private key, independently of src/decrypt. */
export function independentDecrypt(privatePem: string, payloadB64: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payloadB64) || payloadB64.length % 4 !== 0) throw new Error('not base64');
  const raw = Buffer.from(payloadB64, 'base64');
  const key = createPrivateKey(privatePem);
  const k = (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
  if (raw.length < k + 28) throw new Error('too short');
  const aesKey = privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, raw.subarray(0, k));
  if (aesKey.length !== 16) throw new Error('bad session key');
  const nonce = raw.subarray(raw.length - 12);
  const tag = raw.subarray(raw.length - 28, raw.length - 12);
  const d = createDecipheriv('aes-128-gcm', aesKey, nonce);
  d.setAuthTag(tag);
  return Buffer.concat([d.update(raw.subarray(k, raw.length - 28)), d.final()]);
}

/** A fake API on port 0, a temp HOME, and the IRON_* env that points the CLI at it. */
export async function fakeApiEnv(prefix: string): Promise<{ api: FakeIronApi; dir: string; env: Record<string, string>; close: () => Promise<void> }> {
  if (!binBuilt()) throw new Error('build first: npx tsc -p tsconfig.build.json');
  const api = await startFakeIronApi();
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const env = { HOME: dir, IRON_TOKEN: api.token, IRON_PROJECT_ID: api.projectId, IRON_HOST: '127.0.0.1', IRON_PORT: String(api.port), IRON_SCHEME: 'http' };
  return {
    api,
    dir,
    env,
    close: async () => {
      await api.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
