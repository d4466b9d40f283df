// Prometheus metrics on a registry of our own (several servers can live in one test process).
// iron_queue_depth is what an autoscaler scales runners on.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from './store/types.js';

export interface ServerMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly requestSeconds: Histogram<'route'>;
  readonly tasksQueued: Counter<'source'>;
  readonly reservations: Counter<'cluster'>;
  readonly finished: Counter<'status'>;
  readonly leaseExpiries: Counter<'outcome'>;
}

export function createMetrics(store: Store, defaults = false): ServerMetrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry });
  const m: ServerMetrics = {
    registry,
    requests: new Counter({ name: 'iron_api_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'], registers: [registry] }),
    requestSeconds: new Histogram({
      name: 'iron_api_request_duration_seconds', help: 'HTTP request duration (long-poll reserves included)',
      labelNames: ['route'], buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 30], registers: [registry],
    }),
    tasksQueued: new Counter({ name: 'iron_tasks_queued_total', help: 'Tasks queued', labelNames: ['source'], registers: [registry] }),
    reservations: new Counter({ name: 'iron_reservations_total', help: 'Tasks handed to runners', labelNames: ['cluster'], registers: [registry] }),
    finished: new Counter({ name: 'iron_tasks_finished_total', help: 'Runner finish calls by status', labelNames: ['status'], registers: [registry] }),
    leaseExpiries: new Counter({ name: 'iron_lease_expiries_total', help: 'Leases that ran out', labelNames: ['outcome'], registers: [registry] }),
  };
  new Gauge({
    name: 'iron_queue_depth',
    help: 'Tasks ready to run (queued, delay over) per cluster and priority',
    labelNames: ['cluster', 'priority'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of await store.queueDepth(Date.now())) {
        this.set({ cluster: row.clusterId, priority: String(row.priority) }, row.count);
      }
    },
  });
  return m;
}
