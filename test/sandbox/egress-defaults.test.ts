// The default egress policy (issue 13 item 14): TCP 2525 (mail submission) is refused like 25/465/587,
// and the whole link-local range 169.254.0.0/16 is refused, not only 169.254.169.254 (169.254.170.2
// serves ECS task credentials). Tested only against listeners this test starts in its own network
// namespace: a private /24, and a link-local address routed (a /32 on the host) into that namespace.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRunnerConfig } from '../../src/config/runner.js';
import { DEFAULT_NETWORK } from '../../src/sandbox/index.js';
import { makeTestHost, startBannerListeners, type TestHost } from '../../bench/lib/test-host.js';
import { collector, makeFixture, never, sh, spec, type Fixture, runTask } from './helpers.js';

const tag = randomBytes(3).toString('hex');
// Link-local, but unused by any cloud agent; routed into our namespace only for this test.
const LINK_LOCAL = `169.254.${randomInt(100, 160)}.${randomInt(10, 250)}`;
let host: TestHost | undefined;
let SERVER_IP = '';

let fx: Fixture;
let server: ChildProcess | undefined;

beforeAll(async () => {
  host = makeTestHost({ prefix: 'ird', net: '10.214', routed: [LINK_LOCAL] });
  SERVER_IP = host.address;
  server = await startBannerListeners(host, [
    [SERVER_IP, [2525, 1025, 8080]],
    [LINK_LOCAL, [8080]],
  ]);
  fx = await makeFixture({ network: { ...DEFAULT_NETWORK, name: `ird-${tag}` } });
});

afterAll(async () => {
  server?.kill('SIGKILL');
  host?.remove();
  await fx.cleanup();
  expect(execFileSync('iptables', ['-S']).toString()).not.toContain(`iron-runner:ird-${tag}`);
});

describe('default egress policy', () => {
  it('is 25, 465, 587, 2525 and 169.254.0.0/16, in the runner config and the sandbox alike', () => {
    const c = loadRunnerConfig({ CLUSTER_ID: 'c1', CLUSTER_TOKEN: 't', JOBS_DIR: '/tmp/x' }, { usableMemory: 1 << 30 });
    expect(c.blockedTcpPorts).toEqual([25, 465, 587, 2525]);
    expect(c.blockedAddresses).toEqual(['169.254.0.0/16']);
    expect(DEFAULT_NETWORK.blockedTcpPorts).toEqual(c.blockedTcpPorts);
    expect(DEFAULT_NETWORK.blockedAddresses).toEqual(c.blockedAddresses);
    expect(execFileSync('iptables', ['-S', 'DOCKER-USER']).toString()).toContain(`-d 169.254.0.0/16 -i ird-${tag}`);
  });

  it('BLOCKED_PORTS / BLOCKED_ADDRESSES take CIDRs and refuse what is not one', () => {
    const base = { CLUSTER_ID: 'c1', CLUSTER_TOKEN: 't', JOBS_DIR: '/tmp/x' };
    const c = loadRunnerConfig({ ...base, BLOCKED_PORTS: '25,1025', BLOCKED_ADDRESSES: '169.254.0.0/16,10.0.0.0/8,192.0.2.7' }, { usableMemory: 1 << 30 });
    expect(c.blockedTcpPorts).toEqual([25, 1025]);
    expect(c.blockedAddresses).toEqual(['169.254.0.0/16', '10.0.0.0/8', '192.0.2.7']);
    for (const bad of ['300.1.1.1', '10.0.0.0/33', '10.0.0', 'fe80::/10']) {
      expect(() => loadRunnerConfig({ ...base, BLOCKED_ADDRESSES: bad }, { usableMemory: 1 << 30 }), bad).toThrow(/BLOCKED_ADDRESSES/);
    }
  });

  it('refuses 2525 and any link-local address; other egress works', async () => {
    const io = collector();
    const probes = [`${SERVER_IP} 2525`, `${LINK_LOCAL} 8080`, `${SERVER_IP} 8080`, `${SERVER_IP} 1025`];
    const script = probes.map((p) => `echo "${p} -> $(nc -w 3 ${p} </dev/null 2>&1)"`).join('; ');
    const out = await runTask(fx.sandbox, spec({ command: sh(script) }), io, never());
    expect(out.status).toBe('complete');
    const lines = io.stdout().trim().split('\n');
    expect(lines[0]).toMatch(/2525 -> .*(refused|can't connect)/i);
    expect(lines[1]).toMatch(/8080 -> .*(refused|can't connect|unreachable)/i);
    expect(lines[2]).toBe(`${SERVER_IP} 8080 -> banner ${SERVER_IP}:8080`);
    // 1025 stays open by default (it is also an ordinary ephemeral-range port); BLOCKED_PORTS adds it.
    expect(lines[3]).toBe(`${SERVER_IP} 1025 -> banner ${SERVER_IP}:1025`);
  });
});
