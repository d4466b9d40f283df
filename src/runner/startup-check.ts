// The runner's first call: its cluster, retried until the API answers (with a longer backoff while
// it refuses the credentials), then a word at startup wherever the grants will differ from what the
// cluster asks (MEMORY_PER_JOB below the cluster's memory, JOBS_MEMORY too small for CONCURRENCY).
import { AUTH_BACKOFF, NO_RETRY, POLL_BACKOFF, backoff, type RunnerApi, type RunnerCluster } from '../api/index.js';
import { describeApi, type RunnerConfig } from '../config/runner.js';
import { formatSize } from '../config/units.js';
import { AUTH_CODES, type ApiHealth } from './api-health.js';
import type { RunnerEvents } from './events.js';
import { grant } from './limits.js';

export async function checkCluster(
  d: { readonly api: RunnerApi; readonly config: Readonly<RunnerConfig>; readonly events: RunnerEvents },
  health: ApiHealth,
  signal: AbortSignal,
): Promise<RunnerCluster> {
  const api = describeApi(d.config);
  for (let attempt = 1; ; attempt++) {
    try {
      const cluster = await d.api.getCluster(signal, { retry: NO_RETRY });
      health.answered();
      d.events.emit('api.connected', { clusterId: cluster.id, clusterName: cluster.name, api });
      warnLimits(cluster, d.config, d.events);
      return cluster;
    } catch (err) {
      if (signal.aborted) throw err;
      const { code, reason } = health.failed(err);
      const auth = AUTH_CODES.has(code);
      d.events.emit('api.failed', { phase: 'cluster', code, reason, attempt, auth, api });
      await backoff(attempt, auth ? AUTH_BACKOFF : POLL_BACKOFF, signal);
    }
  }
}

/** Says once at startup where the grants will differ from what the cluster asks, and why. */
function warnLimits(cluster: RunnerCluster, c: Readonly<RunnerConfig>, events: RunnerEvents): void {
  const memory = grant(cluster.memory, c.memoryPerJob);
  if (memory.capped) {
    events.emit('config.warning', { what: 'cluster_memory', detail: { cluster_memory: formatSize(memory.asked ?? 0), memory_per_job: formatSize(c.memoryPerJob) } });
  }
  const fit = Math.floor(c.jobsMemory / c.memoryPerJob);
  if (fit < c.concurrency) {
    events.emit('config.warning', {
      what: 'jobs_memory',
      detail: { concurrency: c.concurrency, memory_per_job: formatSize(c.memoryPerJob), jobs_memory: formatSize(c.jobsMemory), fit: Math.max(1, fit) },
    });
  }
}
