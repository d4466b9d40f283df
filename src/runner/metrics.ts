// The runner's Prometheus metrics, on a registry of its own (never prom-client's global one), so
// several runners in one test process do not collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class RunnerMetrics {
  readonly registry = new Registry();
  readonly tasks = new Counter({ name: 'iron_runner_tasks_total', help: 'Tasks finished, by reported outcome', labelNames: ['outcome'], registers: [this.registry] });
  readonly pickup = new Histogram({
    name: 'iron_runner_pickup_seconds',
    help: 'Reserve answer to container create call',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly runDuration = new Histogram({
    name: 'iron_runner_task_duration_seconds',
    help: 'Container run time by outcome',
    labelNames: ['outcome'],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });
  readonly slotsBusy = new Gauge({ name: 'iron_runner_slots_busy', help: 'Tasks held by this runner', registers: [this.registry] });
  readonly slotsTotal = new Gauge({ name: 'iron_runner_slots_total', help: 'Configured concurrency', registers: [this.registry] });
  readonly apiErrors = new Counter({ name: 'iron_runner_api_errors_total', help: 'Failed API calls by call and code', labelNames: ['call', 'code'], registers: [this.registry] });
  readonly apiFailovers = new Counter({ name: 'iron_runner_api_failovers_total', help: 'Moves from a failed API replica to the next (API_URL lists several)', registers: [this.registry] });
  readonly logBytes = new Counter({ name: 'iron_runner_log_bytes_shipped_total', help: 'Task log bytes accepted by the API', registers: [this.registry] });
  readonly heartbeatLag = new Gauge({ name: 'iron_runner_heartbeat_lag_seconds', help: 'Time since the last successful heartbeat', registers: [this.registry] });
  readonly warmups = new Counter({ name: 'iron_runner_image_warmups_total', help: 'Image pre-pulls by result (ok, failed)', labelNames: ['result'], registers: [this.registry] });
  readonly codeDownloads = new Counter({ name: 'iron_runner_code_downloads_total', help: 'Code packages downloaded from the API (cache misses)', registers: [this.registry] });
  readonly codeDownloadBytes = new Counter({ name: 'iron_runner_code_download_bytes_total', help: 'Bytes of code packages downloaded', registers: [this.registry] });
  readonly codeCacheHits = new Counter({ name: 'iron_runner_code_cache_hits_total', help: 'Tasks whose code package was already in the cache', registers: [this.registry] });
  readonly draining = new Gauge({ name: 'iron_runner_draining', help: '1 while the runner drains', registers: [this.registry] });

  constructor() {
    // No prefix: prom-client's standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes,
    // ...) are what stock Node.js dashboards and alerts query.
    collectDefaultMetrics({ register: this.registry });
  }
}
