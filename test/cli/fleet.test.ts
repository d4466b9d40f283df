// `iron cluster show` lists the cluster's runners (as their heartbeats reported them) and `iron
// worker status` a task's measured usage, against a real iron-api on port 0. The test plays two
// runners through src/api's runner-protocol client.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunnerClient, type RunnerClient, type RunnerReport } from '../../src/api/index.js';
import { startApi, type Api } from '../helpers/api.js';
import { registerCode } from '../helpers/queue.js';
import { binBuilt, runIron } from './helpers.js';

let server: Api;
let runner: RunnerClient;
let dir: string;
const env = (): Record<string, string> => ({ HOME: dir });
const report = (over: Partial<RunnerReport>): RunnerReport => ({
  hostname: 'worker-host-1',
  version: '0.1.0',
  slots_total: 4,
  slots_busy: 0,
  draining: false,
  engine_version: '20.10.24',
  started_at: new Date().toISOString(),
  ...over,
});

beforeAll(async () => {
  if (!binBuilt()) throw new Error('build first: npx tsc -p tsconfig.build.json');
  dir = await mkdtemp(join(tmpdir(), 'iron-cli-fleet-'));
  server = await startApi({ dataDir: join(dir, 'data') });
  await copyFile(join(dir, 'data', 'iron.json'), join(dir, 'iron.json'));
  runner = createRunnerClient({ baseUrl: server.url, token: server.clusterToken, clusterId: server.clusterId });
});

afterAll(async () => {
  await runner?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('iron and the fleet', () => {
  it('cluster show prints the runners table and the counts', async () => {
    const signal = AbortSignal.timeout(10_000);
    await runner.runner.heartbeat({ instance_id: 'r-cli-idle', tasks: [], runner: report({}) }, signal);
    await runner.runner.heartbeat({ instance_id: 'r-cli-busy', tasks: [], runner: report({ hostname: 'worker-host-2', slots_busy: 3 }) }, signal);
    const out = await runIron(['cluster', 'show', server.clusterId], { env: env(), cwd: dir });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/runners:\s+5 free of 8/);
    expect(out.stdout).toMatch(/INSTANCE\s+HOST\s+VERSION\s+BUSY\/SLOTS\s+STATE\s+LAST SEEN/);
    expect(out.stdout).toMatch(/r-cli-idle\s+worker-host-1\s+0\.1\.0\s+0\/4\s+idle\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(out.stdout).toMatch(/r-cli-busy\s+worker-host-2\s+0\.1\.0\s+3\/4\s+busy/);
    const json = await runIron(['cluster', 'show', '--json', server.clusterId], { env: env(), cwd: dir });
    const parsed = JSON.parse(json.stdout) as { runners_total: number; stats: { instances: unknown[] } };
    expect(parsed.runners_total).toBe(8);
    expect(parsed.stats.instances).toHaveLength(2);
  });

  it('worker status shows the peak memory and CPU time a runner reported', async () => {
    const signal = AbortSignal.timeout(10_000);
    await registerCode(server, 'measured');
    const [id] = await server.client.project.queueTasks([{ code_name: 'measured', payload: '' }], signal);
    const [task] = (await runner.runner.reserve({ instance_id: 'r-cli-idle', n: 1, wait: 5 }, signal)).tasks;
    expect(task?.id).toBe(id);
    await runner.runner.finish(id ?? '', { reservation_id: task?.reservation_id ?? '', status: 'complete', exit_code: 0, msg: '', usage: { peak_memory: 3 * 2 ** 20, cpu_seconds: 0.25 } }, signal);
    const out = await runIron(['worker', 'status', id ?? ''], { env: env(), cwd: dir });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/peak memory:\s+3\.0 MiB/);
    expect(out.stdout).toMatch(/cpu:\s+0\.25 s/);
  });
});
