// Prometheus metrics on registries of our own (several servers can live in one test process).
// Two parts: aggregates anyone who reaches the port may read, and per-cluster series (cluster ids
// are capabilities of a kind: another tenant must not learn them) behind METRICS_TOKEN. A scrape
// never runs SQL per request: the queue depth comes from one cached query refreshed at most every
// DEPTH_TTL_MS, so a loop on /metrics costs serialising counters only.
// iron_queue_depth is what an autoscaler scales runners on.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TaskStore } from './store/ports.js';
import type { QueueDepthRow } from './store/records.js';
import type { Wakeups } from './services/wakeups.js';
import type { InstanceView } from './services/fleet.js';

/** Where iron_runners reads the fleet (services/fleet.ts; cached there, so a scrape loop costs nothing). */
export interface FleetStates {
  allStates(signal: AbortSignal): Promise<readonly InstanceView[]>;
}

const DEPTH_TTL_MS = 5_000;

export interface ServerMetrics {
  /** Aggregates only (no cluster ids). */
  readonly registry: Registry;
  /** Everything, per-cluster series included. */
  readonly full: Registry;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly requestSeconds: Histogram<'route'>;
  readonly tasksQueued: Counter<'source'>;
  readonly reservations: Counter<'cluster'>;
  readonly finished: Counter<'status'>;
  readonly leaseExpiries: Counter<'outcome'>;
  /** Store reserve queries run: with reserves parked, a queued task should cost about one. */
  readonly reserveLooks: Counter;
}

/** The store's queue depth, at most one query per DEPTH_TTL_MS however often it is asked for. */
class DepthCache {
  private at = Number.NEGATIVE_INFINITY;
  private rows: Promise<readonly QueueDepthRow[]> = Promise.resolve([]);

  constructor(
    private readonly tasks: TaskStore,
    private readonly signal: AbortSignal,
  ) {}

  get(): Promise<readonly QueueDepthRow[]> {
    const now = Date.now();
    if (now - this.at >= DEPTH_TTL_MS) {
      this.at = now;
      this.rows = this.tasks.queueDepth(now, this.signal).catch(() => []);
    }
    return this.rows;
  }
}

/** `signal` bounds the store reads of scrapes (the queue depth): the server's lifetime. */
export function createMetrics(tasks: TaskStore, signal: AbortSignal, wakeups?: Wakeups, defaults = false, fleet?: FleetStates): ServerMetrics {
  const registry = new Registry();
  const perCluster = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry });
  const depth = new DepthCache(tasks, signal);
  const m = {
    registry,
    requests: new Counter({ name: 'iron_api_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'], registers: [registry] }),
    requestSeconds: new Histogram({
      name: 'iron_api_request_duration_seconds',
      help: 'HTTP request duration (long-poll reserves included)',
      labelNames: ['route'],
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 30],
      registers: [registry],
    }),
    tasksQueued: new Counter({ name: 'iron_tasks_queued_total', help: 'Tasks queued', labelNames: ['source'], registers: [registry] }),
    reservations: new Counter({ name: 'iron_cluster_reservations_total', help: 'Tasks handed to runners, per cluster', labelNames: ['cluster'], registers: [perCluster] }),
    finished: new Counter({ name: 'iron_tasks_finished_total', help: 'Runner finish calls by status', labelNames: ['status'], registers: [registry] }),
    leaseExpiries: new Counter({ name: 'iron_lease_expiries_total', help: 'Leases that ran out', labelNames: ['outcome'], registers: [registry] }),
    reserveLooks: new Counter({ name: 'iron_reserve_looks_total', help: 'Reserve queries run (first looks and looks after a wake-up)', registers: [registry] }),
  };
  new Gauge({
    name: 'iron_queue_depth',
    help: `Tasks ready to run (queued, delay over) per priority, all clusters (refreshed every ${DEPTH_TTL_MS / 1000} s)`,
    labelNames: ['priority'],
    registers: [registry],
    async collect() {
      this.reset();
      const byPriority = new Map<number, number>();
      for (const row of await depth.get()) byPriority.set(row.priority, (byPriority.get(row.priority) ?? 0) + row.count);
      for (const [priority, count] of byPriority) this.set({ priority: String(priority) }, count);
    },
  });
  new Gauge({
    name: 'iron_cluster_queue_depth',
    help: `Tasks ready to run (queued, delay over) per cluster and priority (refreshed every ${DEPTH_TTL_MS / 1000} s)`,
    labelNames: ['cluster', 'priority'],
    registers: [perCluster],
    async collect() {
      this.reset();
      for (const row of await depth.get()) this.set({ cluster: row.clusterId, priority: String(row.priority) }, row.count);
    },
  });
  if (fleet !== undefined) {
    new Gauge({
      name: 'iron_runners',
      help: 'Runner instances per cluster and state (idle, busy, draining, lost), from their heartbeats',
      labelNames: ['cluster', 'state'],
      registers: [perCluster],
      async collect() {
        this.reset();
        const counts = new Map<string, { cluster: string; state: string; n: number }>();
        for (const i of await fleet.allStates(signal)) {
          const key = `${i.clusterId}\0${i.state}`;
          const c = counts.get(key) ?? { cluster: i.clusterId, state: i.state, n: 0 };
          c.n++;
          counts.set(key, c);
        }
        for (const c of counts.values()) this.set({ cluster: c.cluster, state: c.state }, c.n);
      },
    });
  }
  if (wakeups !== undefined) {
    new Gauge({
      name: 'iron_reserves_parked',
      help: 'Long-poll reserves waiting for a task',
      registers: [registry],
      collect() {
        this.set(wakeups.waiting);
      },
    });
  }
  return { ...m, full: Registry.merge([registry, perCluster]) };
}
