// The dedicated job network: created once, labelled, shared by every job (and by every runner on the
// same engine that uses the same name). It is infrastructure, not a task's object, so the orphan
// reaper never removes it; removeJobNetwork exists for tests and uninstallers.
import { DEFAULT_BLOCKED_ADDRESSES, DEFAULT_BLOCKED_PORTS, isIpv4OrCidr } from '../config/egress.js';
import { IronError } from '../errors.js';
import type { ContainerEngine, NetworkInfo } from './engine.js';
import { statusOf } from './engine-errors.js';
import { LABEL_MANAGED, LABEL_ROLE } from './labels.js';
import { installEgressRules, removeEgressRules, type EgressResult } from './egress.js';
import type { SandboxNetworkOptions } from './types.js';

export const DEFAULT_NETWORK: SandboxNetworkOptions = Object.freeze({
  name: 'iron-jobs',
  blockedTcpPorts: DEFAULT_BLOCKED_PORTS as number[],
  blockedAddresses: DEFAULT_BLOCKED_ADDRESSES as string[],
});

/** Linux interface names are at most 15 bytes; the bridge carries the network's name so rules can name it. */
export function validateNetworkOptions(n: SandboxNetworkOptions): void {
  const problems: string[] = [];
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/.test(n.name)) problems.push('network name must be 1-15 characters [a-zA-Z0-9_.-]');
  if (!n.blockedTcpPorts.every((p) => Number.isInteger(p) && p > 0 && p < 65536)) problems.push('blocked ports must be 1-65535');
  if (!n.blockedAddresses.every(isIpv4OrCidr)) problems.push('blocked addresses must be IPv4 addresses or CIDRs');
  if (problems.length > 0) throw new IronError('ERR_INVALID_ARGUMENT', `invalid sandbox network options: ${problems.join('; ')}`);
}

export interface JobNetwork {
  info: NetworkInfo;
  egress: EgressResult;
}

export async function ensureJobNetwork(engine: ContainerEngine, n: SandboxNetworkOptions, manageRules: boolean, signal: AbortSignal): Promise<JobNetwork> {
  validateNetworkOptions(n);
  let info = await engine.networkInspect(n.name, signal);
  if (info === undefined) {
    try {
      info = await engine.networkCreate(n.name, n.name, { [LABEL_MANAGED]: '1', [LABEL_ROLE]: 'network' }, signal);
    } catch (err) {
      // Another runner on this engine created it between our inspect and create: 409 for the name,
      // or (Docker 20.10) 403 "networks have same bridge name".
      const status = statusOf(err);
      if (status !== 409 && status !== 403) throw err;
      info = await engine.networkInspect(n.name, signal);
      if (info === undefined) throw err;
    }
  }
  const bridge = info.bridgeName ?? '';
  if (bridge === '') {
    return { info, egress: { installed: false, reason: `network ${n.name} exists without a fixed bridge name; egress rules cannot name it` } };
  }
  if (!manageRules) return { info, egress: { installed: false, reason: 'egress rule management disabled' } };
  const egress = await installEgressRules({ bridge, blockedTcpPorts: n.blockedTcpPorts, blockedAddresses: n.blockedAddresses }, signal);
  return { info, egress };
}

export async function removeJobNetwork(engine: ContainerEngine, n: SandboxNetworkOptions, signal: AbortSignal): Promise<void> {
  const info = await engine.networkInspect(n.name, signal);
  if (info?.bridgeName !== undefined) {
    await removeEgressRules({ bridge: info.bridgeName, blockedTcpPorts: n.blockedTcpPorts, blockedAddresses: n.blockedAddresses }, signal);
  }
  await engine.networkRemove(n.name, signal);
}
