// Abuse from a job, through a real runner: no Docker socket; the runner's metrics port and another
// job's listener are unreachable from the job network; a CPU spinner does not stall other jobs; 10 GiB
// of output leaves the runner's memory flat with a truncated log; a fork bomb and a memory hog are
// contained and classified while the runner stays healthy. SMTP and metadata egress are covered by
// test/sandbox/egress.test.ts.
import { readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine, removeJobNetwork } from '../../src/sandbox/index.js';
import { freePort } from '../helpers/ports.js';
import { queueTasks } from '../helpers/queue.js';
import { waitFor } from '../helpers/wait.js';
import { containersOf, registerImage, spawnRunner, startApi, taskLog, uniqueNetwork, waitForTask, type Api, type RunnerProc } from '../runner/harness.js';

let api: Api;
let runner: RunnerProc;
let hostService: Server;
let loopbackService: Server;
let loopbackPort = 0;
let metricsPort = 0;
let hostPort = 0;
const network = uniqueNetwork();
// 10 GiB was measured once (docs/security.md: ~270 s at ~38 MiB/s through the attach stream); CI runs 1 GiB.
const FLOOD_BYTES = 2 ** 30;
// busybox-static's wget segfaults on non-loopback addresses here, so probes speak HTTP through nc.
const GW = 'GW=$(ip route | sed -n "s/^default via \\([0-9.]*\\).*/\\1/p")';
const get = (host: string, port: string | number, path = '/'): string => `printf "GET ${path} HTTP/1.0\\r\\n\\r\\n" | nc -w 3 ${host} ${port} 2>/dev/null`;

async function queue(code: string, payload = '', extra: Record<string, unknown> = {}): Promise<string> {
  const [id] = await queueTasks(api, code, { payload, extra });
  return id ?? '';
}

async function runnerHealthy(): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/healthz`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
  return res?.status === 200;
}

beforeAll(async () => {
  api = await startApi();
  // Free on every interface: the runner's metrics listener must be probed through the job bridge.
  metricsPort = await freePort('0.0.0.0');
  // A host service bound to every interface, like a runner started with METRICS_ADDR=:port.
  hostService = createHttpServer((_req, res) => res.end('host-service-answered\n'));
  await new Promise<void>((r) => hostService.listen(0, '0.0.0.0', r));
  hostPort = (hostService.address() as AddressInfo).port;
  // And one bound to loopback only, like a runner started with METRICS_ADDR=127.0.0.1:port.
  loopbackService = createHttpServer((_req, res) => res.end('loopback-service-answered\n'));
  await new Promise<void>((r) => loopbackService.listen(0, '127.0.0.1', r));
  loopbackPort = (loopbackService.address() as AddressInfo).port;
  await registerImage(
    api,
    'probe',
    `sh -c '${GW}; ls -la /var/run/docker.sock 2>/dev/null && echo SOCK-PRESENT || echo SOCK-ABSENT;
    ${get('$GW', metricsPort, '/healthz')} | grep -q 200 && echo METRICS-REACHED || echo METRICS-BLOCKED;
    ${get('$GW', hostPort)} | grep host-service || echo HOST-SERVICE-BLOCKED;
    ${get('$GW', loopbackPort)} | grep loopback-service || echo LOOPBACK-SERVICE-UNREACHABLE'`,
  );
  await registerImage(
    api,
    'listener',
    `sh -c 'mkdir -p "$TASK_DIR/www" && echo hello-from-b > "$TASK_DIR/www/index.html";
    echo "ip=$(ip -4 addr show eth0 | awk "/inet /{print \\$2}" | cut -d/ -f1)"; timeout 40 httpd -f -p 8080 -h "$TASK_DIR/www"; true'`,
  );
  await registerImage(api, 'knocker', `sh -c '${get('$(cat "$PAYLOAD_FILE")', 8080)} | grep -q hello-from-b && echo ICC-OPEN || echo ICC-BLOCKED'`);
  await registerImage(api, 'spin', "sh -c 'while :; do :; done'");
  await registerImage(api, 'quick', "sh -c 'echo quick'");
  await registerImage(api, 'flood', `sh -c 'head -c ${FLOOD_BYTES} /dev/zero; echo done >&2'`);
  await registerImage(api, 'forkbomb', "sh -c 'f(){ f | f & }; f; sleep 30'");
  await registerImage(api, 'hog', `sh -c 'x=a; while true; do x="$x$x"; done'`);
  runner = spawnRunner(api, {
    JOB_NETWORK: network,
    CONCURRENCY: '4',
    MEMORY_PER_JOB: '64M',
    MAX_LOG_SIZE: '1M',
    // The documented mitigation for a metrics port on all interfaces: block it for jobs like SMTP.
    METRICS_ADDR: `0.0.0.0:${metricsPort}`,
    BLOCKED_PORTS: `25,465,587,${metricsPort}`,
  });
  await runner.waitForEvent('api.connected', undefined, 60_000);
}, 90_000);

afterAll(async () => {
  const code = await runner?.stop();
  try {
    const instance = readFileSync(path.join(runner.jobsDir, 'instance-id'), 'utf8').trim();
    expect(await containersOf(instance)).toBe(0);
  } finally {
    rmSync(runner.jobsDir, { recursive: true, force: true });
    await removeJobNetwork(createDockerEngine(), { name: network, blockedTcpPorts: [25, 465, 587, metricsPort], blockedAddresses: ['169.254.169.254'] }, AbortSignal.timeout(20_000));
    for (const srv of [hostService, loopbackService]) {
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
    await api?.stop();
  }
  expect(code).toBe(0);
}, 60_000);

describe('a job cannot reach what is not its own', () => {
  it('has no Docker socket, cannot reach a blocked metrics port or a loopback-bound one; other host services on 0.0.0.0 are reachable', async () => {
    const id = await queue('probe');
    const t = await waitForTask(api, id);
    const log = await taskLog(api, id);
    console.log(`[security] isolation probe: ${log.trim().split('\n').join(' | ')}`);
    expect(t.status).toBe('complete');
    expect(log).toContain('SOCK-ABSENT');
    expect(log).toContain('METRICS-BLOCKED');
    expect(log).toContain('LOOPBACK-SERVICE-UNREACHABLE');
    // Documented, not a defect: the job network may reach host services bound to all interfaces
    // unless their ports are in BLOCKED_PORTS. This asserts the behaviour docs/security.md describes.
    expect(log).toContain('host-service-answered');
    expect(await runnerHealthy()).toBe(true);
  }, 60_000);

  it("cannot connect to another job's listener on the job network", async () => {
    const b = await queue('listener');
    const ip = await waitFor('the listener job to log its address', async () => /ip=(\d+\.\d+\.\d+\.\d+)/.exec(await taskLog(api, b))?.[1], {
      timeoutMs: 30_000,
      everyMs: 200,
    });
    expect(ip).not.toBe('');
    // Control: the listener really serves (the host reaches it directly, not through the job bridge's forwarding).
    const served = await waitFor(
      `the listener to answer on ${ip}:8080`,
      async () => {
        const text = await fetch(`http://${ip}:8080/`, { signal: AbortSignal.timeout(2_000) }).then(
          (r) => r.text(),
          () => '',
        );
        return text !== '' && text;
      },
      { timeoutMs: 30_000, everyMs: 250 },
    );
    expect(served).toContain('hello-from-b');
    const a = await queue('knocker', ip);
    const ta = await waitForTask(api, a);
    const aLog = await taskLog(api, a);
    console.log(`[security] isolation icc: listener=${ip}:8080 host_control=${served.trim()} job_to_job=${aLog.trim()}`);
    expect(ta.status).toBe('complete');
    expect(aLog).toContain('ICC-BLOCKED');
    await api.client.project.cancelTask(b, AbortSignal.timeout(5_000));
    await waitForTask(api, b);
  }, 90_000);
});

describe('a job cannot starve or take down the runner', () => {
  it('two CPU spinners do not stop other jobs from completing', async () => {
    const spinners = [await queue('spin', '', { timeout: 60 }), await queue('spin', '', { timeout: 60 })];
    await Promise.all(spinners.map((id) => waitForTask(api, id, new Set(['running']))));
    const started = Date.now();
    const quick = await Promise.all(Array.from({ length: 6 }, () => queue('quick')));
    const done = await Promise.all(quick.map((id) => waitForTask(api, id, undefined, 60_000)));
    const seconds = (Date.now() - started) / 1000;
    for (const id of spinners) await api.client.project.cancelTask(id, AbortSignal.timeout(5_000));
    const ended = await Promise.all(spinners.map((id) => waitForTask(api, id)));
    console.log(`[security] isolation cpu: spinners=2 quick_tasks=${done.length} complete=${done.filter((t) => t.status === 'complete').length} seconds=${seconds.toFixed(1)}`);
    expect(done.every((t) => t.status === 'complete')).toBe(true);
    expect(seconds).toBeLessThan(45);
    expect(ended.map((t) => t.status)).toEqual(['cancelled', 'cancelled']);
  }, 120_000);

  it('a flood of output (1 GiB): log truncated at MAX_LOG_SIZE, runner memory flat', async () => {
    const pid = runner.proc.pid ?? 0;
    const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    const before = rss();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss());
    }, 200);
    const started = Date.now();
    const id = await queue('flood', '', { timeout: 300 });
    let t;
    try {
      t = await waitForTask(api, id, undefined, 280_000);
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - started) / 1000;
    const log = await taskLog(api, id);
    console.log(
      `[security] isolation flood: written=${FLOOD_BYTES / 2 ** 20}MiB status=${t.status} seconds=${seconds.toFixed(1)} rate=${(FLOOD_BYTES / 2 ** 20 / seconds).toFixed(0)}MiB/s log_bytes=${log.length} runner_rss_before=${(before / 2 ** 20).toFixed(0)}MiB peak=${(peak / 2 ** 20).toFixed(0)}MiB`,
    );
    expect(t.status).toBe('complete');
    expect(log).toContain('log truncated');
    expect(log.length).toBeLessThan(1024 * 1024 + 4096);
    expect(peak - before).toBeLessThan(150 * 2 ** 20);
    expect(await runnerHealthy()).toBe(true);
  }, 300_000);

  it('a fork bomb and a memory hog are contained and classified; the runner stays healthy', async () => {
    const bomb = await queue('forkbomb', '', { timeout: 10 });
    const hog = await queue('hog');
    const [tb, th] = await Promise.all([waitForTask(api, bomb, undefined, 90_000), waitForTask(api, hog, undefined, 90_000)]);
    const after = await waitForTask(api, await queue('quick'));
    console.log(
      `[security] isolation forkbomb: status=${tb.status} msg=${JSON.stringify(tb.msg ?? '')}; memory hog: status=${th.status} msg=${JSON.stringify(th.msg ?? '')}; next task=${after.status}`,
    );
    expect(['timeout', 'error', 'killed']).toContain(tb.status);
    expect(tb.msg ?? '').not.toBe('');
    expect(th.status).toBe('killed');
    expect(th.msg).toMatch(/out of memory/);
    expect(after.status).toBe('complete');
    expect(await runnerHealthy()).toBe(true);
    expect(runner.proc.exitCode).toBeNull();
  }, 120_000);
});
