// Egress rules for the job bridge. Forwarded traffic (job -> internet) passes DOCKER-USER, which
// dockerd never flushes; traffic to the host's own addresses (job -> 172.x.0.1:25) passes INPUT.
// Every rule carries a comment naming the bridge, so installing is idempotent (check before insert)
// and removal touches only our rules. TCP gets a reset (the job fails fast instead of hanging).
// Jobs never talk to each other: traffic that enters and leaves the job bridge (container to
// container; Docker accepts it by default on user networks) is refused in DOCKER-USER too.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface EgressPolicy {
  bridge: string;
  blockedTcpPorts: number[];
  blockedAddresses: string[];
}

export type EgressResult = { installed: true; rules: string[][] } | { installed: false; reason: string };

export function egressRules(p: EgressPolicy): string[][] {
  const comment = ['-m', 'comment', '--comment', `iron-runner:${p.bridge}`];
  const rules: string[][] = [];
  for (const chain of ['DOCKER-USER', 'INPUT']) {
    const base = [chain, '-i', p.bridge];
    if (p.blockedTcpPorts.length > 0) {
      // multiport takes at most 15 ports per rule.
      for (let i = 0; i < p.blockedTcpPorts.length; i += 15) {
        const ports = p.blockedTcpPorts.slice(i, i + 15).join(',');
        rules.push([...base, '-p', 'tcp', '-m', 'multiport', '--dports', ports, ...comment, '-j', 'REJECT', '--reject-with', 'tcp-reset']);
      }
    }
    for (const addr of p.blockedAddresses) {
      rules.push([...base, '-d', addr, '-p', 'tcp', ...comment, '-j', 'REJECT', '--reject-with', 'tcp-reset']);
      rules.push([...base, '-d', addr, ...comment, '-j', 'REJECT']);
    }
  }
  const jobToJob = ['DOCKER-USER', '-i', p.bridge, '-o', p.bridge];
  rules.push([...jobToJob, '-p', 'tcp', ...comment, '-j', 'REJECT', '--reject-with', 'tcp-reset']);
  rules.push([...jobToJob, ...comment, '-j', 'REJECT']);
  return rules;
}

/** Why we cannot manage rules here, or undefined when we can try. */
export function egressUnsupportedReason(bridge: string, iptables: string): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root';
  if (!existsSync(iptables)) return `${iptables} not found`;
  // The rules only act in the network namespace that holds the bridge: a runner talking to a remote
  // engine (or to the host's engine from inside a container) cannot protect the jobs this way.
  if (!existsSync(`/sys/class/net/${bridge}`)) return `bridge ${bridge} is not in this network namespace (remote engine?)`;
  return undefined;
}

export async function installEgressRules(p: EgressPolicy, signal: AbortSignal, iptables = '/usr/sbin/iptables'): Promise<EgressResult> {
  const reason = egressUnsupportedReason(p.bridge, iptables);
  if (reason !== undefined) return { installed: false, reason };
  const rules = egressRules(p);
  try {
    // Insert in reverse so the final order in the chain matches the list (tcp rules before the catch-all).
    for (const rule of [...rules].reverse()) {
      const [chain, ...spec] = rule as [string, ...string[]];
      if (await ruleExists(iptables, chain, spec, signal)) continue;
      await run(iptables, ['-w', '5', '-I', chain, '1', ...spec], { signal });
    }
  } catch (err) {
    if (signal.aborted) throw err;
    const e = err as { stderr?: string; message?: string };
    return { installed: false, reason: `iptables failed: ${(e.stderr ?? e.message ?? '').trim().slice(0, 200)}` };
  }
  return { installed: true, rules };
}

export async function removeEgressRules(p: EgressPolicy, signal: AbortSignal, iptables = '/usr/sbin/iptables'): Promise<void> {
  if (process.getuid?.() !== 0 || !existsSync(iptables)) return;
  for (const rule of egressRules(p)) {
    const [chain, ...spec] = rule as [string, ...string[]];
    // A rule might have been inserted twice by a racing runner; delete until none is left.
    while (await ruleExists(iptables, chain, spec, signal)) {
      await run(iptables, ['-w', '5', '-D', chain, ...spec], { signal });
    }
  }
}

async function ruleExists(iptables: string, chain: string, spec: string[], signal: AbortSignal): Promise<boolean> {
  try {
    await run(iptables, ['-w', '5', '-C', chain, ...spec], { signal });
    return true;
  } catch (err) {
    if (signal.aborted) throw err;
    const code = (err as { code?: unknown }).code;
    if (code === 1) return false;
    throw err;
  }
}
