// What every service shares: the store's ports, the in-memory coordination (wake-ups, warm-ups,
// the scheduler through Readiness), the task rules, metrics and the log. Built once by services.ts.
import type { ServerConfig } from '../../config/server.js';
import type { Logger } from '../../log.js';
import type { ServerMetrics } from '../metrics.js';
import type { LogStore } from '../store/log-appends.js';
import type { Store, TaskRules } from '../store/ports.js';
import type { TaskLookups } from '../task-create-input.js';
import type { ClusterAccess } from './cluster-access.js';
import type { CodePackages } from './code-packages.js';
import type { Readiness } from './readiness.js';
import type { TokenCache } from './token-cache.js';
import type { Wakeups } from './wakeups.js';
import type { Warmups } from './warmups.js';

export interface ServicesCore {
  readonly config: ServerConfig;
  readonly store: Store;
  readonly logs: LogStore;
  readonly packages: CodePackages;
  readonly access: ClusterAccess;
  /** Code and cluster look-ups of task creation input validation. */
  readonly lookups: TaskLookups;
  readonly wakeups: Wakeups;
  /** Images the runners of a cluster should pull ahead of their first task. */
  readonly warmups: Warmups;
  readonly readiness: Readiness;
  /** Tokens the store found lately (auth per request); cluster deletion forgets its tokens. */
  readonly tokens: TokenCache;
  readonly rules: TaskRules;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
  /** Aborted when the services close; for work that outlives its request (a give-back, a scheduler tick). */
  readonly lifetime: AbortSignal;
}
