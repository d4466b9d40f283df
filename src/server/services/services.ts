// The service layer of iron-api: the one owner of the store, the wake-ups, the warm-ups, the
// scheduler and the domain metrics. Routes parse a request, call one service and present its answer;
// services hold the rules and call the store's ports.
import type { ServerConfig } from '../../config/server.js';
import type { Logger } from '../../log.js';
import { createMetrics, type ServerMetrics } from '../metrics.js';
import type { LogStore } from '../store/log-appends.js';
import { FilePackages, type PackageStore } from '../store/packages.js';
import type { Store } from '../store/ports.js';
import { Accounts } from './accounts.js';
import { ClusterAccess } from './cluster-access.js';
import { Clusters } from './clusters.js';
import { CodePackages } from './code-packages.js';
import { Codes } from './codes.js';
import type { ServicesCore } from './core.js';
import { Fleet } from './fleet.js';
import { FleetSampler } from './fleet-sampler.js';
import { QueueEwma } from './queue-ewma.js';
import { TaskQueue } from './queue.js';
import { Readiness } from './readiness.js';
import { Reservations } from './reservations.js';
import { Retention } from './retention.js';
import { Scheduler } from './scheduler.js';
import { Schedules } from './schedules.js';
import { taskRules } from './task-rules.js';
import { TokenCache } from './token-cache.js';
import { Wakeups } from './wakeups.js';
import { Warmups } from './warmups.js';

export interface Services {
  readonly accounts: Accounts;
  readonly clusters: Clusters;
  readonly codes: Codes;
  readonly queue: TaskQueue;
  readonly reservations: Reservations;
  readonly schedules: Schedules;
  /** The runner instances of each cluster (heartbeat reports). */
  readonly fleet: Fleet;
  /** Each cluster's queue depth, exponentially weighted (cluster stats `ewma`). */
  readonly ewma: QueueEwma;
  /** The server's metrics: the services count domain events, the HTTP layer its requests. */
  readonly metrics: ServerMetrics;
  /** Deletes finished tasks past RETENTION (periodically once started; runOnce for tests and operators). */
  readonly retention: Retention;
  /** Arms the scheduler (after the server listens). */
  start(): void;
  /** Stops the scheduler (waiting for a tick in progress), ends the services' lifetime, closes the store. Idempotent. */
  close(): Promise<void>;
}

/** `packages`: where code zips are kept (default: files in the data dir). */
export function createServices(opts: { config: ServerConfig; store: Store; logs: LogStore; packages?: PackageStore; log: Logger }): Services {
  const { config, store, logs, log } = opts;
  const lifetime = new AbortController();
  const wakeups = new Wakeups(config.maxParkedPerCluster);
  const fleet = new Fleet(store.instances, config, log, lifetime.signal);
  const ewma = new QueueEwma();
  const sampler = new FleetSampler(store.tasks, fleet, ewma, log, lifetime.signal);
  const metrics = createMetrics(store.tasks, lifetime.signal, wakeups, false, fleet);
  const rules = taskRules(config.maxAttempts);
  const scheduler = new Scheduler(store, wakeups, rules, metrics, log, lifetime.signal);
  const access = new ClusterAccess(store.clusters);
  const core: ServicesCore = {
    config,
    store,
    logs,
    access,
    wakeups,
    rules,
    metrics,
    log,
    lifetime: lifetime.signal,
    packages: new CodePackages(opts.packages ?? new FilePackages(config.dataDir), store.codes, log),
    lookups: {
      codeByName: (projectId, name, signal) => store.codes.getCodeByName(projectId, name, signal),
      usableCluster: (projectId, name, signal) => access.usable(projectId, name, signal),
    },
    warmups: new Warmups(),
    tokens: new TokenCache(),
    readiness: new Readiness(store.tasks, store.codes, wakeups, scheduler, store.ready),
  };
  scheduler.onReady((ready) => core.readiness.ready(ready));
  const retention = new Retention(store.retention, logs, config.retentionMs, log, lifetime.signal);
  // Other replicas' ready tasks wake this one's parked reserves.
  const unsubscribe = store.ready.subscribe((ready) => wakeups.wakeReady(ready));
  let closed: Promise<void> | undefined;
  return {
    accounts: new Accounts(core),
    clusters: new Clusters(core),
    codes: new Codes(core),
    queue: new TaskQueue(core),
    reservations: new Reservations(core),
    schedules: new Schedules(core),
    fleet,
    ewma,
    metrics,
    retention,
    start: () => {
      scheduler.start();
      retention.start();
      sampler.start();
    },
    close: () => {
      closed ??= (async () => {
        await scheduler.stop();
        await sampler.stop();
        // The runner reports of the last second, before the store closes.
        await fleet.close(AbortSignal.timeout(5_000));
        lifetime.abort();
        await retention.stop();
        unsubscribe();
        await store.close();
      })();
      return closed;
    },
  };
}
