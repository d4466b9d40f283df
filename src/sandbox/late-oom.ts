// Docker's OOMKilled flag can be set after the container's exit is: containerd's shim publishes the
// kernel's oom event and the exit event on separate paths, so dockerd may record the exit (and
// answer our wait) first and set the flag a moment later (containerd#12714 orders the two; the
// engines we support predate it). Seen in CI under load: a memory hog reported as "exit code 137".
// So a SIGKILL exit the sandbox did not cause is asked again for a short while before it is taken
// for a kill -9; a job that kills itself that way pays the wait once, at its end.
import { setTimeout as delay } from 'node:timers/promises';
import type { ContainerEngine } from './engine.js';

/** Pauses between the re-inspections: about 1.5 s in all, long past the gap seen under load. */
const RECHECK_DELAYS_MS: readonly number[] = [25, 50, 100, 200, 400, 700];

/** Whether the engine sets the container's OOM flag within the window; false when it cannot be asked. */
export async function lateOomFlag(engine: ContainerEngine, containerId: string, signal: AbortSignal): Promise<boolean> {
  try {
    for (const ms of RECHECK_DELAYS_MS) {
      await delay(ms, undefined, { signal });
      if ((await engine.containerInspect(containerId, signal)).oomKilled) return true;
    }
  } catch {
    // The engine went away or the signal ended the wait: what was inspected first stands.
  }
  return false;
}
