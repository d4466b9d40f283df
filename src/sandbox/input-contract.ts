// How the payload and config reach the job: as two read-only files under TASK_DIR/input. Two ways,
// one contract (PreparedInput): a read-only bind of a per-task directory the runner writes
// (input-bind.ts: no extra engine calls, used when the engine shares the runner's filesystem), or a
// labelled per-task volume filled through a never-started helper (input-volume.ts: works with any
// engine, remote ones included, at the cost of four engine calls and an untar per task).
import tar from 'tar-stream';
import type { Logger } from 'pino';
import type { Readable } from 'node:stream';
import type { ContainerEngine, ContainerMount } from './engine.js';
import type { CodeFiles } from './types.js';

export const TASK_DIR = '/task';
export const INPUT_DIR = `${TASK_DIR}/input`;
export const PAYLOAD_FILE = `${INPUT_DIR}/payload`;
export const CONFIG_FILE = `${INPUT_DIR}/config`;
/** Where a code package's files are delivered (read-only); the job's unpack step copies them into TASK_DIR. */
export const CODE_INPUT_DIR = `${INPUT_DIR}/code`;

export interface InputRequest {
  engine: ContainerEngine;
  log: Logger;
  instanceId: string;
  taskId: string;
  /** An image present on the engine (the task's own). */
  image: string;
  labels: Record<string, string>;
  payload: Buffer;
  config: string;
  code?: CodeFiles;
}

export interface PreparedInput {
  /** The job container's read-only mount at INPUT_DIR. */
  mount: ContainerMount;
  /** Settles when the files are in place: the job must not start before (a rejection means it never does). */
  filled: Promise<void>;
  /** Removes what prepare made; never rejects (leftovers are the orphan reaper's). */
  dispose(): Promise<void>;
}

export interface JobInput {
  prepare(req: InputRequest, signal: AbortSignal): Promise<PreparedInput>;
}

/**
 * The input as a tar stream: payload, config and (with a package) code/..., entries streamed one
 * after another so a large package is never held in memory. A failing entry fails the stream.
 */
export function inputArchive(payload: Buffer, config: string, code?: CodeFiles): Readable {
  const pack = tar.pack();
  const mtime = new Date();
  const head = { uid: 0, gid: 0, mtime };
  void (async () => {
    const put = (header: Partial<tar.Header> & { name: string }, body: Buffer = Buffer.alloc(0)): Promise<void> =>
      new Promise((resolve, reject) => {
        pack.entry({ ...head, ...header }, body, (err) => (err ? reject(err) : resolve()));
      });
    await put({ name: 'payload', mode: 0o444, type: 'file', size: payload.length }, payload);
    const cfg = Buffer.from(config, 'utf8');
    await put({ name: 'config', mode: 0o444, type: 'file', size: cfg.length }, cfg);
    if (code !== undefined) {
      await put({ name: 'code', mode: 0o755, type: 'directory' });
      for (const e of code.entries) {
        const name = `code/${e.path}`;
        if (e.kind === 'dir') await put({ name, mode: 0o755, type: 'directory' });
        else if (e.kind === 'symlink') await put({ name, mode: 0o777, type: 'symlink', linkname: e.target ?? '' });
        else {
          const src = await e.open();
          await new Promise<void>((resolve, reject) => {
            const sink = pack.entry({ ...head, name, mode: e.mode, type: 'file', size: e.size }, (err) => (err ? reject(err) : resolve()));
            src.on('error', (err: Error) => {
              sink.destroy(err);
              reject(err);
            });
            src.pipe(sink);
          });
        }
      }
    }
    pack.finalize();
  })().catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  // tar-stream's Pack is a streamx Readable, which Node's stream consumers (and dockerode) accept.
  return pack as unknown as Readable;
}

/** The input without a package, as one buffer (tests and the probe). */
export async function buildInputArchive(payload: Buffer, config: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of inputArchive(payload, config) as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

/** A name for per-task objects: the task id made safe for volume and file names, plus randomness. */
export function perTaskName(taskId: string, suffix: string): string {
  return `${safeTaskId(taskId)}-${suffix}`;
}

export function safeTaskId(taskId: string): string {
  return taskId.replace(/[^a-zA-Z0-9_.-]/g, '_').slice(0, 64);
}
