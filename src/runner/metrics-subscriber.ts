// The lifecycle counts of the runner's Prometheus metrics, driven by its events. Gauges of current
// state (busy slots, heartbeat lag) and the timing histograms stay where the state and the clock are.
import type { RunnerEvents } from './events.js';
import type { RunnerMetrics } from './metrics.js';

/** Counts events into `metrics`; returns the unsubscribe. */
export function subscribeMetrics(events: RunnerEvents, metrics: RunnerMetrics): () => void {
  const offs = [
    events.on('task.finished', (e) => metrics.tasks.inc({ outcome: e.status })),
    // A give-back is reported to the API as the outcome `requeue`.
    events.on('task.given_back', () => metrics.tasks.inc({ outcome: 'requeue' })),
    events.on('task.report_failed', (e) => {
      // A superseded reservation is not a failed call: the API answered, the report is dropped.
      if (e.code !== 'ERR_API_CONFLICT') metrics.apiErrors.inc({ call: 'finish', code: e.code });
    }),
    events.on('task.give_back_failed', (e) => {
      if (e.code !== 'ERR_API_CONFLICT') metrics.apiErrors.inc({ call: 'finish', code: e.code });
    }),
    events.on('api.failed', (e) => {
      if (e.phase === 'reserve') metrics.apiErrors.inc({ call: 'reserve', code: e.code });
    }),
    events.on('api.failover', () => metrics.apiFailovers.inc()),
    events.on('heartbeat.failed', (e) => metrics.apiErrors.inc({ call: 'heartbeat', code: e.code })),
    events.on('image.warmed', () => metrics.warmups.inc({ result: 'ok' })),
    events.on('image.warm_failed', () => metrics.warmups.inc({ result: 'failed' })),
    events.on('code.downloaded', (e) => {
      metrics.codeDownloads.inc();
      metrics.codeDownloadBytes.inc(e.bytes);
    }),
    events.on('runner.draining', () => metrics.draining.set(1)),
  ];
  return () => {
    for (const off of offs) off();
  };
}
