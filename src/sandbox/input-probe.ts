// Does the engine see the runner's input directory? A bind source path is resolved on the engine's
// host: the same path may not exist there (remote engine: create is refused), or may be another
// directory (a runner in a container with only the socket shared). So the probe writes a random nonce
// and reads it back through a never-started container that binds the directory: only the same bytes
// prove the same directory.
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import tar from 'tar-stream';
import type { ContainerEngine } from './engine.js';
import { engineMessageOf, statusOf } from './engine-errors.js';
import { inertContainerBody } from './inert-container.js';
import { objectLabels } from './labels.js';

export type ProbeResult = { ok: true } | { ok: false; reason: string };

export async function probeBindInput(engine: ContainerEngine, root: string, image: string, instanceId: string, signal: AbortSignal): Promise<ProbeResult> {
  const nonce = randomBytes(16).toString('hex');
  const dir = path.join(root, `probe-${nonce.slice(0, 12)}`);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  let id: string | undefined;
  try {
    await writeFile(path.join(dir, 'nonce'), nonce, { mode: 0o444 });
    try {
      id = await engine.containerCreate(
        inertContainerBody({
          image,
          labels: objectLabels(instanceId, 'input-probe', 'input-helper', {}),
          mounts: [{ Type: 'bind', Source: dir, Target: '/iron-probe', ReadOnly: true }],
        }),
        signal,
      );
    } catch (err) {
      return refusal(err);
    }
    let archive: Buffer;
    try {
      archive = await engine.containerGetArchive(id, '/iron-probe/nonce', 64 * 1024, signal);
    } catch (err) {
      return refusal(err);
    }
    const seen = await firstFile(archive);
    return seen === nonce ? { ok: true } : { ok: false, reason: 'the engine sees a different directory at this path' };
  } finally {
    if (id !== undefined) await engine.containerRemove(id, AbortSignal.timeout(30_000)).catch(() => undefined);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The engine's definite "no" (a 4xx: no such path, refused by policy) is an answer; anything else is trouble. */
function refusal(err: unknown): ProbeResult {
  const status = statusOf(err);
  if (status !== undefined && status < 500) return { ok: false, reason: engineMessageOf(err).slice(0, 300) };
  throw err;
}

async function firstFile(archive: Buffer): Promise<string | undefined> {
  const extract = tar.extract();
  const result = new Promise<string | undefined>((resolve, reject) => {
    let found: string | undefined;
    extract.on('entry', (header, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        if (Buffer.isBuffer(c)) parts.push(c);
      });
      stream.on('end', () => {
        if (found === undefined && header.type === 'file') found = Buffer.concat(parts).toString('utf8');
        next();
      });
      stream.resume();
    });
    extract.on('finish', () => resolve(found));
    extract.on('error', reject);
  });
  extract.end(archive);
  return result.catch(() => undefined);
}
