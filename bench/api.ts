// 7. iron-api alone on SQLite: queue+reserve+finish tasks/s with 1 and 8 concurrent reservers, and
// how fast a parked long-poll reserve wakes when a task is queued (benchServer, bench/server.ts).
import { fmt } from './lib/stats.js';
import { metric, type Metrics } from './lib/results.js';
import { benchServer } from './server.js';

export async function benchApi(print: (line: string) => void): Promise<Metrics> {
  const r = await benchServer({ tasks: 1000, latencySamples: 50 });
  print(`api: iron-api (SQLite, client in the same process), ${r.tasks} tasks queue+reserve+finish`);
  print(`  1 reserver ${r.throughput1} tasks/s, 8 reservers ${r.throughput8} tasks/s`);
  print(`  reserve wake-up after the queue call returns: p50 ${fmt(r.wakeupMs.p50)} ms, p95 ${fmt(r.wakeupMs.p95)} ms, max ${fmt(r.wakeupMs.max)} ms`);
  return {
    api_tasks_per_s_1: metric(r.throughput1, 'tasks/s'),
    api_tasks_per_s_8: metric(r.throughput8, 'tasks/s'),
    api_wakeup_p50_ms: metric(r.wakeupMs.p50, 'ms'),
    api_wakeup_p95_ms: metric(r.wakeupMs.p95, 'ms'),
    api_wakeup_from_queue_start_p50_ms: metric(r.wakeupFromQueueStartMs.p50, 'ms'),
  };
}
