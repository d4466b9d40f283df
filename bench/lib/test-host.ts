// A test host of the test's own: a network namespace joined to this machine by a veth pair on a
// private /24 (host side .1, the namespace side .2), so tests can reach listeners at addresses that
// are not loopback (egress rules, a registry whose TLS dockerd verifies) without sending traffic to
// any address this machine does not own. More addresses in the /24, and addresses outside it routed
// into the namespace, are optional. remove() deletes the link (and the routes with it) and the namespace.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';

export interface TestHost {
  readonly ns: string;
  /** This machine's address on the link. */
  readonly hostIp: string;
  /** The namespace's first address (.2). */
  readonly address: string;
  /** The namespace's address in the /24 with last octet `n` (one of `more`). */
  at(n: number): string;
  /** `cmd` run with only the network namespace switched (`ip netns exec` also remounts /sys). */
  wrap(cmd: readonly string[]): string[];
  remove(): void;
}

export interface TestHostOptions {
  /** Names: `<prefix>-ns-<tag>` and the veth ends; a few letters, unique per test file. */
  prefix: string;
  /** The first two octets of the /24 (e.g. '10.213'); each user takes its own, so files may run at once. */
  net: string;
  /** Last octets of more namespace addresses in the /24 (each a /32 there). */
  more?: readonly number[];
  /** Addresses outside the /24 that the namespace holds and this machine routes into it. */
  routed?: readonly string[];
}

const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });

export function makeTestHost(o: TestHostOptions): TestHost {
  const tag = randomBytes(3).toString('hex');
  const octet = randomInt(10, 250);
  const ns = `${o.prefix}-ns-${tag}`;
  const hostIf = `${o.prefix.slice(0, 3)}h${tag}`;
  const nsIf = `${o.prefix.slice(0, 3)}n${tag}`;
  const at = (n: number): string => `${o.net}.${octet}.${n}`;
  const hostIp = at(1);
  const address = at(2);
  const remove = (): void => {
    try {
      ip('link', 'del', hostIf); // the routes go with it
    } catch {
      // never made, or gone with the namespace
    }
    try {
      ip('netns', 'del', ns);
    } catch {
      // never made
    }
  };
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', ns);
    ip('addr', 'add', `${hostIp}/24`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    for (const r of o.routed ?? []) ip('route', 'add', `${r}/32`, 'dev', hostIf);
    ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', nsIf);
    for (const a of [...(o.more ?? []).map(at), ...(o.routed ?? [])]) ip('-n', ns, 'addr', 'add', `${a}/32`, 'dev', nsIf);
    ip('-n', ns, 'link', 'set', nsIf, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  } catch (err) {
    remove();
    throw err;
  }
  return { ns, hostIp, address, at, remove, wrap: (cmd) => ['nsenter', `--net=/var/run/netns/${ns}`, ...cmd] };
}

// Answers every connection with "banner HOST:PORT\n" and closes it; prints "ready" once all listen.
const BANNER = `
const net = require('node:net');
const targets = JSON.parse(process.argv[1]);
let pending = 0;
for (const [host, ports] of targets) for (const port of ports) {
  pending++;
  net.createServer((s) => s.end('banner ' + host + ':' + port + '\\n')).listen(port, host, () => { if (--pending === 0) console.log('ready'); });
}`;

/** TCP listeners in the test host's namespace, one per (address, port); resolves once all listen. */
export async function startBannerListeners(host: TestHost, targets: ReadonlyArray<readonly [string, readonly number[]]>): Promise<ChildProcess> {
  const [bin = 'nsenter', ...args] = host.wrap([process.execPath, '-e', BANNER, JSON.stringify(targets)]);
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`listener exited ${code}`)));
  });
  return child;
}
