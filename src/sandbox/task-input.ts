// Puts the payload and config into the job container without host-path bind mounts, so it works
// when the runner talks to an engine on another host or in another container. The job's root is
// read-only (the disk-quota fallback) and tmpfs mounts only exist once a container runs, so the
// files go into a labelled per-task volume, filled through a never-started helper container and
// then mounted read-only into the job at TASK_DIR/input. The volume holds exactly these bytes: it
// cannot grow, because nothing writable ever mounts it while a job runs.
import tar from 'tar-stream';
import type { ContainerEngine } from './engine.js';
import { objectLabels } from './labels.js';

export const TASK_DIR = '/task';
export const INPUT_DIR = `${TASK_DIR}/input`;
export const PAYLOAD_FILE = `${INPUT_DIR}/payload`;
export const CONFIG_FILE = `${INPUT_DIR}/config`;

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

export interface InputVolumeRequest {
  engine: ContainerEngine;
  instanceId: string;
  taskId: string;
  /** Any image present on the engine; the helper is created, never started. */
  image: string;
  volumeName: string;
  labels: Record<string, string>;
  payload: Buffer;
  config: string;
}

/** Creates the (empty) input volume; the job container can be created on it while it is filled. */
export async function createInputVolume(req: InputVolumeRequest, signal: AbortSignal): Promise<void> {
  await req.engine.volumeCreate(req.volumeName, objectLabels(req.instanceId, req.taskId, 'input', req.labels), signal);
}

/**
 * Creates the never-started helper that mounts the input volume writable, so the engine can put
 * the files there (a read-only mount, as the job has, refuses puts).
 */
export async function createInputHelper(req: InputVolumeRequest, signal: AbortSignal): Promise<string> {
  return req.engine.containerCreate({
    Image: req.image,
    // Never started; a Cmd keeps create from failing on images without ENTRYPOINT/CMD.
    Cmd: ['/iron-input-helper-never-runs'],
    Env: [],
    Labels: objectLabels(req.instanceId, req.taskId, 'input-helper', req.labels),
    AttachStdout: false, AttachStderr: false, AttachStdin: false, OpenStdin: false, Tty: false,
    NetworkDisabled: true,
    HostConfig: {
      Init: false, Memory: 0, MemorySwap: 0, PidsLimit: 1, ReadonlyRootfs: true,
      Mounts: [{ Type: 'volume', Source: req.volumeName, Target: '/in', ReadOnly: false }],
      NetworkMode: 'none', SecurityOpt: ['no-new-privileges'], CapDrop: ['ALL'], CapAdd: [], Privileged: false,
      LogConfig: { Type: 'none', Config: {} }, AutoRemove: false,
    },
  }, signal);
}

/**
 * Puts the files through the helper, then removes it. The put is the costly step (the engine
 * re-executes itself to untar in a chroot: ~50 ms here), so the caller overlaps it with the job
 * container's create and attach. On failure the helper is removed before rethrowing. On success
 * its removal is under way; the returned promise settles when it is gone and never rejects.
 */
export async function fillInputVolume(req: InputVolumeRequest, helper: string, signal: AbortSignal): Promise<{ helperRemoved: Promise<void> }> {
  const { engine } = req;
  try {
    await engine.containerPutArchive(helper, '/in', await buildInputArchive(req.payload, req.config), signal);
  } catch (err) {
    // Cleanup must run even when the task's signal has fired; bound it instead.
    await engine.containerRemove(helper, AbortSignal.timeout(30_000)).catch(() => undefined);
    throw err;
  }
  const helperRemoved = engine.containerRemove(helper, AbortSignal.timeout(30_000)).catch(() => undefined);
  return { helperRemoved };
}
