// `docker run --net=host iron/runner` on a "host" this test controls: a private dockerd in a network
// namespace of its own (test/helpers/private-engine.ts) with iron-api published on a port. The
// runner's inner engine must get a namespace of its own, so the host's firewall is the same before,
// during (apart from the runner's two IRON-NS-<id> chains) and after the runner; the published port
// keeps working, a job reaches it through the runner's NAT, and stop leaves no veth or bridge behind.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateEngine, type PrivateEngine } from '../helpers/private-engine.js';
import { waitFor } from '../helpers/wait.js';
import { API_IMAGE, JOB_IMAGE, RUNNER_IMAGE } from './stack.js';

const skip = process.env['IRON_SKIP_IMAGE_TESTS'] === '1';
const PORT = 18080;

function inNs(netns: string, cmd: string[]): string {
  return execFileSync('nsenter', [`--net=/var/run/netns/${netns}`, ...cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** iptables-save of every table, without comments and packet counters: the rules themselves. */
function firewall(netns: string): string[] {
  return inNs(netns, ['iptables-save'])
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/\s*\[\d+:\d+\]$/, ''))
    .sort();
}

function diff(a: string[], b: string[]): { added: string[]; removed: string[] } {
  const count = (xs: string[]): Map<string, number> => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const ca = count(a);
  const cb = count(b);
  const added = [...cb].flatMap(([l, n]) => Array<string>(Math.max(0, n - (ca.get(l) ?? 0))).fill(l));
  const removed = [...ca].flatMap(([l, n]) => Array<string>(Math.max(0, n - (cb.get(l) ?? 0))).fill(l));
  return { added, removed };
}

describe.skipIf(skip)('iron/runner with --net=host', () => {
  let engine: PrivateEngine;
  let preload = '';

  beforeAll(async () => {
    engine = await startPrivateEngine();
    for (const image of [RUNNER_IMAGE, API_IMAGE]) execFileSync('bash', ['-c', `/usr/bin/docker save ${image} | docker -H ${engine.dockerHost} load -q`]);
    preload = mkdtempSync(path.join(tmpdir(), 'iron-hostnet-preload-'));
    execFileSync('/usr/bin/docker', ['save', '-o', path.join(preload, 'job.tar'), JOB_IMAGE]);
  }, 300_000);

  afterAll(async () => {
    await engine?.destroy();
    if (preload !== '') rmSync(preload, { recursive: true, force: true });
  }, 120_000);

  it('leaves the host firewall as it was: before, during (own chains only) and after; the published port keeps working', async () => {
    const d = (args: string[]): string => engine.docker(args);
    d(['run', '-d', '--name', 'api', '-p', `${PORT}:8080`, '-e', 'LEASE=5s', API_IMAGE]);
    const logs = await waitFor(
      'iron-api credentials',
      async () => {
        const r = spawnSync('docker', ['-H', engine.dockerHost, 'logs', 'api'], { encoding: 'utf8' });
        const out = r.stdout + r.stderr;
        return /cluster token:\s+\S+/.test(out) ? out : undefined;
      },
      { timeoutMs: 30_000, everyMs: 250 },
    );
    const field = (label: string): string => new RegExp(`${label}:\\s+(\\S+)`).exec(logs)?.[1] ?? '';
    const hostHealth = (): string => inNs(engine.netns, ['curl', '-s', '--max-time', '5', `http://127.0.0.1:${PORT}/healthz`]);
    expect(hostHealth()).toContain('ok');
    const before = firewall(engine.netns);
    expect(
      before.some((l) => l.includes('DNAT') && l.includes(`--dport ${PORT}`)),
      'the published port has its DNAT rule',
    ).toBe(true);
    const linksBefore = inNs(engine.netns, ['ip', '-o', 'link', 'show']).split('\n').length;

    d(['volume', 'create', 'runner-docker']);
    d([
      'run',
      '-d',
      '--name',
      'runner',
      '--privileged',
      '--net=host',
      '-v',
      'runner-docker:/var/lib/docker',
      '-v',
      `${preload}:/var/lib/iron-runner/preload:ro`,
      '-e',
      `API_URL=http://127.0.0.1:${PORT}`,
      '-e',
      `CLUSTER_ID=${field('cluster id')}`,
      '-e',
      `CLUSTER_TOKEN=${field('cluster token')}`,
      '-e',
      'CONCURRENCY=1',
      '-e',
      'LOG_FORMAT=json',
      '-e',
      'DRAIN_TIMEOUT=30s',
      RUNNER_IMAGE,
    ]);
    const runnerLog = (): string => {
      const r = spawnSync('docker', ['-H', engine.dockerHost, 'logs', 'runner'], { encoding: 'utf8' });
      return r.stdout + r.stderr;
    };
    const started = await waitFor(
      'runner polling',
      async () => {
        const out = runnerLog();
        if (/"msg":"(fatal|invalid configuration)|runner exited/.test(out)) throw new Error(`runner failed:\n${out.slice(-2000)}`);
        return out.includes('polling for tasks') ? out : undefined;
      },
      { timeoutMs: 90_000, everyMs: 500 },
    );
    const m = /own \((\d+\.\d+\.\d+)\.(\d+)\/30 via (iron-[0-9a-f]+), NAT in chains (IRON-NS-[0-9a-f]+)\)/.exec(started);
    expect(m, started.slice(-1500)).not.toBeNull();
    const [, net, inner, veth, chain] = m!;
    const outer = `${net!}.${Number(inner) - 1}`;

    // A job reaches the host's published port through the runner's veth and NAT.
    const iron = (args: string[]): string => d(['exec', 'api', 'iron', ...args]);
    iron(['register', '--name', 'probe', JOB_IMAGE, `sh -c 'printf "GET /healthz HTTP/1.0\\r\\n\\r\\n" | nc -w 5 ${outer} ${PORT}'`]);
    const queued = JSON.parse(iron(['worker', 'queue', '--json', '--cluster', field('cluster id'), 'probe'])) as { tasks: Array<{ id: string }> };
    const id = queued.tasks[0]!.id;
    const task = await waitFor(
      `task ${id}`,
      async () => {
        const t = JSON.parse(iron(['worker', 'status', '--json', id])) as { status: string; msg?: string };
        return ['complete', 'error', 'timeout', 'killed', 'cancelled'].includes(t.status) ? t : undefined;
      },
      { timeoutMs: 90_000, everyMs: 500 },
    );
    const jobLog = iron(['worker', 'log', id]);
    expect(task.status, `${task.msg ?? ''} ${jobLog}`).toBe('complete');
    expect(jobLog).toContain('200 OK');

    const during = firewall(engine.netns);
    const changed = diff(before, during);
    console.log(`host-network: iptables-save during the runner: ${changed.added.length} lines added, ${changed.removed.length} removed:\n  ${changed.added.join('\n  ')}`);
    expect(changed.removed).toEqual([]);
    expect(changed.added.length).toBeGreaterThan(0);
    for (const l of changed.added) expect(l, "only the runner's own chains").toContain(chain!);
    expect(hostHealth()).toContain('ok');
    expect(inNs(engine.netns, ['ip', '-o', 'link', 'show'])).toContain(veth!);

    d(['stop', '-t', '60', 'runner']);
    expect(d(['inspect', '-f', '{{.State.ExitCode}}', 'runner']).trim()).toBe('0');
    const after = firewall(engine.netns);
    const left = diff(before, after);
    console.log(`host-network: iptables-save after docker stop: ${left.added.length} lines added, ${left.removed.length} removed (of ${before.length})`);
    expect(left).toEqual({ added: [], removed: [] });
    const links = inNs(engine.netns, ['ip', '-o', 'link', 'show']);
    expect(links).not.toContain(veth!);
    expect(links).not.toContain('iron-jobs');
    expect(links.split('\n').length).toBe(linksBefore);
    expect(hostHealth()).toContain('ok');
  }, 300_000);
});
