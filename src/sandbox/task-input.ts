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

/**
 * Creates and fills the input volume. On failure whatever was created is removed before rethrowing.
 * On success the helper's removal is already under way (it overlaps the job's create and start);
 * the returned promise settles when it is gone and never rejects.
 */
export async function prepareInputVolume(req: InputVolumeRequest, signal: AbortSignal): Promise<{ helperRemoved: Promise<void> }> {
  const { engine } = req;
  const archive = await buildInputArchive(req.payload, req.config);
  await engine.volumeCreate(req.volumeName, objectLabels(req.instanceId, req.taskId, 'input', req.labels), signal);
  let helper: string | undefined;
  try {
    helper = await engine.containerCreate({
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
    await engine.containerPutArchive(helper, '/in', archive, signal);
  } catch (err) {
    await removeQuietly(engine, helper, req.volumeName);
    throw err;
  }
  const id = helper;
  const helperRemoved = engine.containerRemove(id, AbortSignal.timeout(30_000)).catch(() => undefined);
  return { helperRemoved };
}

async function removeQuietly(engine: ContainerEngine, helper: string | undefined, volume: string): Promise<void> {
  // Cleanup must run even when the task's signal has fired; bound it instead.
  const signal = AbortSignal.timeout(30_000);
  if (helper !== undefined) await engine.containerRemove(helper, signal).catch(() => undefined);
  await engine.volumeRemove(volume, signal).catch(() => undefined);
}
