// How the payload and config reach the job: as two read-only files under TASK_DIR/input. Two ways,
// one contract (PreparedInput): a read-only bind of a per-task directory the runner writes
// (input-bind.ts: no extra engine calls, used when the engine shares the runner's filesystem), or a
// labelled per-task volume filled through a never-started helper (input-volume.ts: works with any
// engine, remote ones included, at the cost of four engine calls and an untar per task).
import tar from 'tar-stream';
import type { Logger } from 'pino';
import type { ContainerEngine, ContainerMount } from './engine.js';

export const TASK_DIR = '/task';
export const INPUT_DIR = `${TASK_DIR}/input`;
export const PAYLOAD_FILE = `${INPUT_DIR}/payload`;
export const CONFIG_FILE = `${INPUT_DIR}/config`;

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

export async function buildInputArchive(payload: Buffer, config: string): Promise<Buffer> {
  const pack = tar.pack();
  const mtime = new Date();
  const file = (name: string, body: Buffer): void => {
    pack.entry({ name, mode: 0o444, uid: 0, gid: 0, mtime, type: 'file', size: body.length }, body);
  };
  file('payload', payload);
  file('config', Buffer.from(config, 'utf8'));
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

/** A name for per-task objects: the task id made safe for volume and file names, plus randomness. */
export function perTaskName(taskId: string, suffix: string): string {
  return `${safeTaskId(taskId)}-${suffix}`;
}

export function safeTaskId(taskId: string): string {
  return taskId.replace(/[^a-zA-Z0-9_.-]/g, '_').slice(0, 64);
}
