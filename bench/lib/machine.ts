// Facts about the machine printed with every benchmark: absolute numbers on shared 2-core VMs drift,
// so results are only comparable with these beside them.
import { cpus, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';

export interface MachineFacts {
  cores: number;
  cpu: string;
  memory_gib: number;
  node: string;
  openssl: string;
  docker_engine?: string;
  storage_driver?: string;
  cgroup?: string;
}

export function machineFacts(): MachineFacts {
  const facts: MachineFacts = {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    openssl: process.versions.openssl ?? 'unknown',
  };
  try {
    const out = execFileSync('docker', ['info', '--format', '{{.ServerVersion}} {{.Driver}} {{.CgroupVersion}}'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    })
      .toString()
      .trim()
      .split(' ');
    facts.docker_engine = out[0] ?? 'unknown';
    facts.storage_driver = out[1] ?? 'unknown';
    facts.cgroup = `v${out[2] ?? '?'}`;
  } catch {
    // No engine: the crypto and API benchmarks still run.
  }
  return facts;
}
