// Input through a labelled per-task volume: works with any engine (remote, or in another container
// with only the socket shared), no host paths. The job's root is read-only (the disk-quota
// fallback) and tmpfs mounts only exist once a container runs, so the files are put through a
// never-started helper that mounts the volume writable, and the job mounts it read-only. The
// volume holds exactly these bytes: nothing writable mounts it while a job runs.
import { randomBytes } from 'node:crypto';
import { inertContainerBody } from './inert-container.js';
import { objectLabels } from './labels.js';
import { inputArchive, INPUT_DIR, perTaskName, type InputRequest, type JobInput, type PreparedInput } from './input-contract.js';

const CLEANUP_MS = 30_000;
const noop = (): void => undefined;

export class VolumeInput implements JobInput {
  async prepare(req: InputRequest, signal: AbortSignal): Promise<PreparedInput> {
    const { engine } = req;
    const volume = `iron-in-${perTaskName(req.taskId, randomBytes(4).toString('hex'))}`;
    await engine.volumeCreate(volume, objectLabels(req.instanceId, req.taskId, 'input', req.labels), signal);
    const removeVolume = async (): Promise<void> => {
      await engine.volumeRemove(volume, AbortSignal.timeout(CLEANUP_MS)).catch((err: unknown) => {
        req.log.warn({ err, volume }, 'input volume not removed; the orphan reaper will retry');
      });
    };
    let helper: string;
    try {
      helper = await createHelper(req, volume, signal);
    } catch (err) {
      await removeVolume();
      throw err;
    }
    // The put is the costly step (the engine re-executes itself to untar in a chroot: ~50 ms here), so
    // the caller overlaps it with the job container's create and attach. Once it settled the helper
    // goes, without holding up the job's start.
    const filled = (async () => {
      await engine.containerPutArchive(helper, '/in', inputArchive(req.payload, req.config, req.code), signal);
    })();
    const helperGone = filled
      .then(noop, noop)
      .then(() => engine.containerRemove(helper, AbortSignal.timeout(CLEANUP_MS)))
      .catch(noop);
    return {
      mount: { Type: 'volume', Source: volume, Target: INPUT_DIR, ReadOnly: true },
      filled,
      async dispose() {
        await helperGone;
        await removeVolume();
      },
    };
  }
}

/** Never started; it mounts the volume writable so the engine can put the files (a read-only mount refuses puts). */
function createHelper(req: InputRequest, volume: string, signal: AbortSignal): Promise<string> {
  return req.engine.containerCreate(
    inertContainerBody({
      image: req.image,
      labels: objectLabels(req.instanceId, req.taskId, 'input-helper', req.labels),
      mounts: [{ Type: 'volume', Source: volume, Target: '/in', ReadOnly: false }],
    }),
    signal,
  );
}
