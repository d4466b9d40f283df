// Egress rules, tested only against listeners this test starts in its own network namespace (a
// veth pair to a private /24, bench/lib/test-host.ts): SMTP ports and a "blocked address" (stand-in for the metadata
// service, which must not be touched for real) are refused, other egress works.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestHost, startBannerListeners, type TestHost } from '../../bench/lib/test-host.js';
import { collector, makeFixture, never, sh, spec, type Fixture, runTask } from './helpers.js';

const tag = randomBytes(3).toString('hex');
let host: TestHost | undefined;
let SERVER_IP = '';
let BLOCKED_IP = '';

let fx: Fixture;
let server: ChildProcess | undefined;

beforeAll(async () => {
  // The "blocked address" (stand-in for the metadata service): a second address of the test host.
  host = makeTestHost({ prefix: 'irt', net: '10.213', more: [3] });
  SERVER_IP = host.address;
  BLOCKED_IP = host.at(3);
  server = await startBannerListeners(host, [
    [SERVER_IP, [25, 465, 587, 8080]],
    [BLOCKED_IP, [8080]],
  ]);
  fx = await makeFixture({ network: { name: `irt-${tag}`, blockedTcpPorts: [25, 465, 587], blockedAddresses: [BLOCKED_IP, '169.254.169.254'] } });
});

afterAll(async () => {
  server?.kill('SIGKILL');
  host?.remove();
  await fx.cleanup();
  expect(execFileSync('iptables', ['-S']).toString()).not.toContain(`iron-runner:irt-${tag}`);
});

describe('egress', () => {
  it('reports the rules as installed', () => {
    expect(fx.sandbox.capabilities.egressRules).toBe(true);
    const rules = execFileSync('iptables', ['-S', 'DOCKER-USER']).toString();
    expect(rules).toContain(`-d 169.254.169.254/32 -i irt-${tag}`);
  });

  it('refuses SMTP ports and blocked addresses while other egress works', async () => {
    const io = collector();
    const probes = [`${SERVER_IP} 25`, `${SERVER_IP} 465`, `${SERVER_IP} 587`, `${SERVER_IP} 8080`, `${BLOCKED_IP} 8080`];
    const script = probes.map((p) => `echo "${p} -> $(nc -w 3 ${p} </dev/null 2>&1)"`).join('; ');
    const out = await runTask(fx.sandbox, spec({ command: sh(script) }), io, never());
    expect(out.status).toBe('complete');
    const lines = io.stdout().trim().split('\n');
    expect(lines[0]).toMatch(/25 -> .*(refused|can't connect)/i);
    expect(lines[1]).toMatch(/465 -> .*(refused|can't connect)/i);
    expect(lines[2]).toMatch(/587 -> .*(refused|can't connect)/i);
    expect(lines[3]).toBe(`${SERVER_IP} 8080 -> banner ${SERVER_IP}:8080`);
    expect(lines[4]).toMatch(/8080 -> .*(refused|can't connect|unreachable)/i);
  });
});
