// 6. Footprint: runner and iron-api RSS and CPU over 60 s idle (the runner waiting in long-polls:
// reserve requests per minute counted at the proxy), then with 8 running tasks while the API also
// takes a burst of queue and status calls (delayed tasks, so the runner does not pick them up).
import { cpuSeconds, MiB, rssBytes, rssSampler } from './lib/proc.js';
import { fmt } from './lib/stats.js';
import { metric, type Metrics } from './lib/results.js';
import { startStack } from './lib/stack.js';

const IDLE_MS = 60_000;
const LOAD_MS = 8_000;
const RUNNING = 8;

export async function benchFootprint(print: (line: string) => void): Promise<Metrics> {
  const stack = await startStack({ concurrency: RUNNING });
  try {
    await stack.register('bench-sleep', 'sleep 20');
    await stack.register('bench-later', 'true');
    const { runnerPid } = stack;
    const apiPid = stack.api.pid;
    // Settle after startup before the idle window.
    await new Promise((r) => setTimeout(r, 2_000));
    const idle0 = { r: cpuSeconds(runnerPid), a: cpuSeconds(apiPid), reserves: stack.proxy.reserves, t: performance.now() };
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idleS = (performance.now() - idle0.t) / 1000;
    const idle = {
      runnerRss: rssBytes(runnerPid),
      apiRss: rssBytes(apiPid),
      runnerCpu: (cpuSeconds(runnerPid) - idle0.r) / idleS,
      apiCpu: (cpuSeconds(apiPid) - idle0.a) / idleS,
      reservesPerMin: ((stack.proxy.reserves - idle0.reserves) / idleS) * 60,
    };

    const ids = await stack.queue('bench-sleep', RUNNING);
    await Promise.all(ids.map((id) => stack.events.created(id, 'job', 60_000)));
    // Let the containers start (create events come before start).
    await new Promise((r) => setTimeout(r, 1_500));
    const load0 = { r: cpuSeconds(runnerPid), a: cpuSeconds(apiPid), t: performance.now() };
    const rs = rssSampler(runnerPid, 100);
    const as = rssSampler(apiPid, 100);
    const until = performance.now() + LOAD_MS;
    let calls = 0;
    while (performance.now() < until) {
      const specs = Array.from({ length: 50 }, () => ({ code_name: 'bench-later', payload: 'x'.repeat(512), cluster: stack.api.clusterId, delay: 3600 }));
      const queued = await stack.client.project.queueTasks(specs, AbortSignal.timeout(10_000));
      await Promise.all(queued.slice(0, 10).map((id) => stack.client.project.getTask(id, AbortSignal.timeout(10_000))));
      calls += 11;
    }
    const loadS = (performance.now() - load0.t) / 1000;
    const load = {
      runnerRss: rs.stop().peak,
      apiRss: as.stop().peak,
      runnerCpu: (cpuSeconds(runnerPid) - load0.r) / loadS,
      apiCpu: (cpuSeconds(apiPid) - load0.a) / loadS,
    };
    print(`footprint: idle ${IDLE_MS / 1000} s, then ${RUNNING} running tasks + ${fmt(calls / loadS, 0)} API calls/s for ${fmt(loadS, 1)} s`);
    print(`  runner idle: RSS ${fmt(idle.runnerRss / MiB, 1)} MiB, CPU ${fmt(idle.runnerCpu * 100, 2)} %, ${fmt(idle.reservesPerMin, 1)} reserve requests/min`);
    print(`  runner with ${RUNNING} tasks: RSS ${fmt(load.runnerRss / MiB, 1)} MiB, CPU ${fmt(load.runnerCpu * 100, 2)} %`);
    print(`  iron-api idle: RSS ${fmt(idle.apiRss / MiB, 1)} MiB, CPU ${fmt(idle.apiCpu * 100, 2)} % | under load: RSS ${fmt(load.apiRss / MiB, 1)} MiB, CPU ${fmt(load.apiCpu * 100, 1)} %`);
    return {
      footprint_runner_idle_rss_mib: metric(idle.runnerRss / MiB, 'MiB'),
      footprint_runner_idle_cpu_pct: metric(idle.runnerCpu * 100, '% of one core'),
      footprint_runner_reserves_per_min: metric(idle.reservesPerMin, 'requests/min'),
      footprint_runner_8tasks_rss_mib: metric(load.runnerRss / MiB, 'MiB'),
      footprint_runner_8tasks_cpu_pct: metric(load.runnerCpu * 100, '% of one core'),
      footprint_api_idle_rss_mib: metric(idle.apiRss / MiB, 'MiB'),
      footprint_api_load_rss_mib: metric(load.apiRss / MiB, 'MiB'),
      footprint_api_load_cpu_pct: metric(load.apiCpu * 100, '% of one core'),
    };
  } finally {
    await stack.stop();
  }
}
