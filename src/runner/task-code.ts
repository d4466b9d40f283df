// A reserved task's code package, ready for the sandbox: from the cache by sha256, or downloaded
// with the cluster token for this reservation (verified: sha256, then every zip rule, before it is
// cached), then opened again with the zip rules before its entries are handed over.
import { SHORT_RETRY, type CodePackageRef, type ReservedTask, type RunnerApi } from '../api/index.js';
import type { RunnerConfig } from '../config/runner.js';
import type { CodeFiles } from '../sandbox/index.js';
import { openPackage, verifyPackage } from '../zip/index.js';
import { CodeCache } from './code-cache.js';
import type { RunnerEvents } from './events.js';
import type { RunnerMetrics } from './metrics.js';

export interface TaskCode {
  readonly files: CodeFiles;
  readonly ref: CodePackageRef;
  /** Closes the zip and unpins it in the cache; call once the sandbox is done reading. */
  close(): void;
}

export function createCodeCache(dir: string, config: Readonly<RunnerConfig>, events: RunnerEvents): CodeCache {
  return new CodeCache(dir, config.codeCacheBytes, events, {
    verify: async (file, signal) => {
      await verifyPackage(file, config.zipLimits, signal);
    },
  });
}

/** Undefined for image-only tasks. Throws ERR_CODE_* / ERR_ZIP_* (task error) or API errors. */
export async function loadTaskCode(
  task: ReservedTask,
  deps: { api: RunnerApi; cache: CodeCache; config: Readonly<RunnerConfig>; metrics: RunnerMetrics },
  signal: AbortSignal,
): Promise<TaskCode | undefined> {
  const ref = task.code_package;
  if (ref === undefined) return undefined;
  const cached = await deps.cache.acquire(ref, (sink, sig) => deps.api.downloadCode(task.id, task.reservation_id, sink, sig, { retry: SHORT_RETRY }), signal);
  if (!cached.downloaded) deps.metrics.codeCacheHits.inc();
  try {
    const pkg = await openPackage(cached.path, deps.config.zipLimits);
    return {
      files: pkg,
      ref,
      close: () => {
        pkg.close();
        cached.release();
      },
    };
  } catch (err) {
    cached.release();
    throw err;
  }
}
