// The fleet reports itself, end to end: two real iron-runner processes heartbeat a real iron-api
// (also when idle), which lists them in the cluster's stats: idle with their slots, busy while a task
// runs, draining after SIGTERM, lost once a SIGKILLed runner's heartbeats stop. A task that fills
// 64 MiB reports its peak memory and CPU time, measured by the real Docker engine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi as startTestApi, type Api } from '../helpers/api.js';
import { waitFor } from '../helpers/wait.js';
import { registerImage, removeNetwork, spawnRunner, uniqueNetwork, waitForJobRunning, waitForTask, type RunnerProc } from './harness.js';

interface Instance {
  instance_id: string;
  state: string;
  hostname: string;
  version: string;
  runners_total: number;
  runners_available: number;
  slots_busy: number;
  draining: boolean;
  engine_version: string;
  started_at: string | null;
  last_seen_at: string;
}

let api: Api;
const network = uniqueNetwork();
const runners: RunnerProc[] = [];
const ids: string[] = [];

async function instances(): Promise<Instance[]> {
  return (await api.client.clusters.stats(api.clusterId, AbortSignal.timeout(5_000))).instances as unknown as Instance[];
}

/** Waits until the instance is listed in `state` (and passes `also`); returns it. */
function instanceIn(id: string | undefined, state: string, also: (i: Instance) => boolean = () => true): Promise<Instance> {
  let last: Instance | undefined;
  return waitFor(
    () => `instance ${id} to be ${state} (last: ${JSON.stringify(last)})`,
    async () => {
      last = (await instances()).find((i) => i.instance_id === id);
      return last?.state === state && also(last) ? last : undefined;
    },
    { timeoutMs: 30_000 },
  );
}

beforeAll(async () => {
  // Heartbeats every 200 ms; silent for 3 s reads as lost (slack for a loaded machine).
  api = await startTestApi({ overrides: { heartbeatIntervalMs: 200, runnerLostAfterMs: 3_000 } });
  await registerImage(api, 'sleeper', "sh -c 'echo started; sleep 60'");
  // dd's 64 MiB buffer is touched by the read; the sleep lets the engine's stats sample it.
  await registerImage(api, 'fill64', "sh -c 'dd if=/dev/zero of=/dev/null bs=64M count=1; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 2'");
  for (let i = 0; i < 2; i++) {
    const r = spawnRunner(api, { JOB_NETWORK: network, CONCURRENCY: '2', MEMORY_PER_JOB: '256M', JOBS_MEMORY: '1G' });
    runners.push(r);
    const started = await r.waitForEvent('runner.starting');
    ids.push(String(started['instance_id']));
    await r.waitForEvent('api.connected');
  }
}, 120_000);

afterAll(async () => {
  for (const r of runners) await r.stop('SIGKILL');
  await removeNetwork(network);
  await api?.stop();
});

describe('the fleet in cluster stats', () => {
  it('idle runners are listed with their slots; runners_total counts both', async () => {
    for (const id of ids) {
      const i = await instanceIn(id, 'idle');
      expect(i).toMatchObject({ runners_total: 2, runners_available: 2, slots_busy: 0, draining: false, version: '0.1.0' });
      expect(i.hostname).not.toBe('');
      expect(i.engine_version).not.toBe('');
      expect(Number.isFinite(Date.parse(i.started_at ?? ''))).toBe(true);
    }
    const cluster = await api.client.clusters.get(api.clusterId, AbortSignal.timeout(5_000));
    expect(cluster['runners_total']).toBe(4);
    expect(cluster['runners_available']).toBe(4);
  });

  it('a task that fills 64 MiB reports its peak memory and CPU time', async () => {
    const [id] = await api.client.project.queueTasks([{ code_name: 'fill64', payload: '', cluster: api.clusterId }], AbortSignal.timeout(10_000));
    const t = await waitForTask(api, id ?? '', undefined, 60_000);
    expect(t.status).toBe('complete');
    expect(t.peak_memory).toBeGreaterThanOrEqual(64 * 2 ** 20);
    expect(t.cpu_seconds).toBeGreaterThan(0);
  });

  it('busy while a task runs; draining after SIGTERM; lost after SIGKILL', async () => {
    const [task] = await api.client.project.queueTasks([{ code_name: 'sleeper', payload: '', cluster: api.clusterId }], AbortSignal.timeout(10_000));
    await waitForJobRunning(api, task ?? '');
    const busy = await waitFor('a busy instance', async () => (await instances()).find((i) => i.state === 'busy'), { timeoutMs: 30_000 });
    expect(busy).toMatchObject({ slots_busy: 1, runners_available: 1 });
    const at = ids.indexOf(busy.instance_id);
    const holder = runners[at];
    const other = runners[1 - at];
    const otherId = ids[1 - at];
    expect(holder).toBeDefined();
    // SIGTERM: the runner drains (the task goes on) and says so in its heartbeats.
    holder?.proc.kill('SIGTERM');
    await instanceIn(busy.instance_id, 'draining', (i) => i.draining && i.runners_available === 0);
    expect((await api.client.clusters.get(api.clusterId, AbortSignal.timeout(5_000)))['runners_available']).toBe(2);
    await api.client.project.cancelTask(task ?? '', AbortSignal.timeout(5_000));
    expect(await holder?.exited).toBe(0);
    // SIGKILL: heartbeats stop; after RUNNER_LOST_AFTER the instance is lost, still listed.
    await other?.stop('SIGKILL');
    const lost = await instanceIn(otherId, 'lost');
    expect(Date.parse(lost.last_seen_at)).toBeLessThan(Date.now());
    await instanceIn(busy.instance_id, 'lost');
    const cluster = await api.client.clusters.get(api.clusterId, AbortSignal.timeout(5_000));
    expect(cluster['runners_total']).toBe(0);
    expect((await instances()).map((i) => i.instance_id).sort()).toEqual([...ids].sort());
  });
});
