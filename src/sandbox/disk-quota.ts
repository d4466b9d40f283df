// Detects once, at startup, whether the engine can enforce a real per-container disk quota.
// `--storage-opt size` works on btrfs and zfs, and on overlay2 only when the backing fs is xfs
// mounted with pquota. Docker exposes no "pquota" flag, so for overlay2-on-xfs we ask the engine
// itself: create (never start) a throwaway container with a size option and see if it is refused.
import type { ContainerEngine, EngineInfo } from './engine.js';
import { statusOf } from './engine-errors.js';
import { inertContainerBody } from './inert-container.js';
import { objectLabels } from './labels.js';
import type { SandboxCapabilities } from './types.js';

export async function detectDiskQuota(engine: ContainerEngine, info: EngineInfo, probeImage: string | undefined, instanceId: string, signal: AbortSignal): Promise<SandboxCapabilities['diskQuota']> {
  const driver = info.storageDriver;
  if (driver === 'btrfs' || driver === 'zfs') return 'storage-opt';
  if (driver !== 'overlay2' || info.backingFs !== 'xfs' || probeImage === undefined) return 'fallback';
  let id: string | undefined;
  try {
    id = await engine.containerCreate(
      inertContainerBody({
        image: probeImage,
        labels: objectLabels(instanceId, 'storage-probe', 'input-helper', {}),
        storageOpt: { size: '16M' },
      }),
      signal,
    );
    return 'storage-opt';
  } catch (err) {
    if (statusOf(err) !== undefined) return 'fallback';
    throw err;
  } finally {
    if (id !== undefined) await engine.containerRemove(id, AbortSignal.timeout(30_000)).catch(() => undefined);
  }
}
