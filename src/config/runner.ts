// iron-runner's configuration, with IronWorker's variable names (architecture §6). Validated once into
// a frozen object; every problem is reported together and the process exits 2 before anything starts.
import { homedir, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadPrivateKey, type LoadedKey } from '../decrypt/index.js';
import { isIronError } from '../errors.js';
import { INSTANCE_ID_RULE, isInstanceId } from '../ids.js';
import { LOG_LEVELS, type LogLevel } from '../log.js';
import type { Env } from './env.js';
import { DEFAULT_BLOCKED_ADDRESSES, DEFAULT_BLOCKED_PORTS, isIpv4OrCidr } from './egress.js';
import { ConfigReader, deepFreeze } from './reader.js';
import { formatSize } from './units.js';
import { readZipLimits } from './zip-limits.js';
import type { ZipLimits } from '../zip/limits.js';

const MiB = 1024 * 1024;

export interface RunnerConfig {
  clusterId: string;
  clusterToken: string;
  /** API_URL: one iron-api, or several replicas of one (comma-separated); calls fail over in order. */
  apiUrls: URL[];
  /** Loaded and checked at startup; undefined = payloads are passed through as queued. */
  decryptionKey: LoadedKey | undefined;
  /** Slots: how many tasks run at once. */
  concurrency: number;
  /** Whether CONCURRENCY was derived from memory (logged so operators know why). */
  concurrencyDerived: boolean;
  /** The most memory one task is granted, and the grant when the task asks none. */
  memoryPerJob: number;
  /** Memory all running tasks together may be granted (JOBS_MEMORY, else usable host/cgroup memory). */
  jobsMemory: number;
  diskPerJob: number | undefined;
  cpuShares: number | undefined;
  /** Hard CPU cap per job in CPUs (CPUS_PER_JOB), undefined = shares only. */
  cpusPerJob: number | undefined;
  pidsPerJob: number;
  dockerHost: string | undefined;
  /** ENGINE_TIMEOUT: deadline of each engine call (the long streams: until their response headers). */
  engineTimeoutMs: number;
  /** ENGINE_PING_INTERVAL / ENGINE_PING_TIMEOUT: the /_ping probe that watches the long streams. */
  enginePingIntervalMs: number;
  enginePingTimeoutMs: number;
  /** State dir: instance id, log spool. */
  jobsDir: string;
  instanceId: string | undefined;
  logLevel: LogLevel;
  logPretty: boolean;
  logJobOutput: boolean;
  maxLogSize: number;
  /** LOG_FLUSH_INTERVAL: output that fills no chunk is shipped at most this long after it was written. */
  logFlushIntervalMs: number;
  drainTimeoutMs: number;
  stopGraceMs: number;
  /** host:port for /healthz, /readyz, /metrics; undefined = not served. */
  metricsAddr: { host: string; port: number } | undefined;
  /** Long-poll wait per reserve call, seconds (≤ 30). */
  pollWaitS: number;
  apiCa: string | undefined;
  proxy: { httpProxy?: string; httpsProxy?: string; noProxy?: string };
  jobNetwork: string;
  blockedTcpPorts: number[];
  blockedAddresses: string[];
  manageEgressRules: boolean;
  imageCacheBytes: number | undefined;
  /** PULL_TIMEOUT: a pull (or a cached private image's credential check) that takes longer fails the task. */
  pullTimeoutMs: number;
  /** PRE_PULL: pull a code's image when it is registered or updated (the API's warm-up list). */
  prePull: boolean;
  /** CODE_CACHE_SIZE: code packages kept in JOBS_DIR/code-cache (by sha256, least recently used removed first). */
  codeCacheBytes: number;
  /** MAX_CODE_FILES / MAX_CODE_UNPACKED_SIZE / MAX_CODE_RATIO: checked again before a package is unpacked. */
  zipLimits: ZipLimits;
  /** JOB_INPUT: `auto` binds JOBS_DIR/input read-only when the engine sees it; `volume` never binds. */
  jobInput: 'auto' | 'volume';
}

export interface RunnerConfigContext {
  isTty?: boolean;
  isRoot?: boolean;
  /** Bytes of memory jobs may use in total (tests); default: host or cgroup limit minus headroom. */
  usableMemory?: number;
  readFile?: (p: string) => string;
}

export function loadRunnerConfig(env: Env, ctx: RunnerConfigContext = {}): Readonly<RunnerConfig> {
  const r = new ConfigReader(env, ctx.readFile);
  const clusterId = r.required('CLUSTER_ID');
  if (clusterId !== '' && !/^[A-Za-z0-9_-]{1,64}$/.test(clusterId)) r.problem('CLUSTER_ID must be the cluster id shown by iron-api (letters, digits, - and _)');
  const clusterToken = (r.secret('CLUSTER_TOKEN', { required: true }) ?? '').trim();
  const apiUrls = r.urlList('API_URL', 'http://127.0.0.1:8080');
  // The image's entrypoint says whether its container has a network namespace of its own
  // (IRON_NETWORK_MODE=container) or the host's; there, loopback is the container itself and the
  // runner would retry ECONNREFUSED forever.
  const networkMode = r.oneOf('IRON_NETWORK_MODE', ['unknown', 'container', 'host'] as const, 'unknown');
  const loopback = apiUrls.find((u) => isLoopbackHost(u.hostname));
  if (networkMode === 'container' && loopback !== undefined && !r.bool('ALLOW_LOOPBACK_API', false)) {
    r.problem(
      `API_URL ${loopback.origin} is the container itself (it has a network of its own): set API_URL to an address of iron-api ` +
        'this container can reach, e.g. http://iron-api:8080 on a shared Docker network or http://<host address>:8080, ' +
        'or run it with --net=host (ALLOW_LOOPBACK_API=true if iron-api really runs in this network namespace)',
    );
  }

  let decryptionKey: LoadedKey | undefined;
  const keyPem = r.secret('DECRYPTION_KEY');
  if (keyPem !== undefined) {
    try {
      decryptionKey = loadPrivateKey(keyPem);
    } catch (err) {
      // The loader's messages describe the key's kind, never its content.
      r.problem(`DECRYPTION_KEY: ${isIronError(err) ? err.message : 'cannot be loaded'}`);
    }
  }

  const memoryPerJob = r.size('MEMORY_PER_JOB', 256 * MiB, 8 * MiB);
  const diskRaw = r.raw('DISK_PER_JOB');
  const diskPerJob = diskRaw === undefined ? undefined : r.size('DISK_PER_JOB', 0, MiB);
  const cpuRaw = r.raw('CPU_SHARES');
  const cpuShares = cpuRaw === undefined ? undefined : r.int('CPU_SHARES', 1024, 2, 262144);
  const cpusRaw = r.raw('CPUS_PER_JOB');
  let cpusPerJob: number | undefined;
  if (cpusRaw !== undefined) {
    cpusPerJob = Number(cpusRaw);
    if (!Number.isFinite(cpusPerJob) || cpusPerJob <= 0 || cpusPerJob > 1024) {
      r.problem(`CPUS_PER_JOB must be a positive number of CPUs like 0.5 (got ${JSON.stringify(cpusRaw)})`);
      cpusPerJob = undefined;
    }
  }
  // Every task is granted at most MEMORY_PER_JOB, so this many always fit in memory at once (at least
  // one: a MEMORY_PER_JOB above the budget is the operator's call, and the runner logs it).
  const jobsMemory = r.raw('JOBS_MEMORY') === undefined ? (ctx.usableMemory ?? usableMemory()) : r.size('JOBS_MEMORY', 0, 8 * MiB);
  const derived = Math.max(1, Math.floor(jobsMemory / memoryPerJob));
  const concurrencyRaw = r.raw('CONCURRENCY');
  const concurrency = concurrencyRaw === undefined ? derived : r.int('CONCURRENCY', derived, 1, 1024);

  const isRoot = ctx.isRoot ?? process.getuid?.() === 0;
  const defaultJobsDir = isRoot ? '/var/lib/iron-runner' : path.join(homedir(), '.local/state/iron-runner');
  const jobsDir = path.resolve(r.string('JOBS_DIR', defaultJobsDir) ?? defaultJobsDir);
  const instanceId = r.raw('INSTANCE_ID');
  if (instanceId !== undefined && !isInstanceId(instanceId)) r.problem(`INSTANCE_ID must be ${INSTANCE_ID_RULE}`);

  const metricsAddr = parseAddr(r, 'METRICS_ADDR');
  const apiCaFile = r.raw('API_CA_FILE');
  let apiCa: string | undefined;
  if (apiCaFile !== undefined) {
    try {
      apiCa = (ctx.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(apiCaFile);
      if (!apiCa.includes('-----BEGIN CERTIFICATE-----')) r.problem(`API_CA_FILE (${apiCaFile}) holds no PEM certificate`);
    } catch (err) {
      r.problem(`API_CA_FILE (${apiCaFile}) cannot be read: ${(err as { code?: string }).code ?? 'error'}`);
    }
  }
  const proxy: RunnerConfig['proxy'] = {};
  const httpsProxy = r.raw('HTTPS_PROXY') ?? r.raw('https_proxy');
  const httpProxy = r.raw('HTTP_PROXY') ?? r.raw('http_proxy');
  const noProxy = r.raw('NO_PROXY') ?? r.raw('no_proxy');
  if (httpsProxy !== undefined) proxy.httpsProxy = httpsProxy;
  if (httpProxy !== undefined) proxy.httpProxy = httpProxy;
  if (noProxy !== undefined) proxy.noProxy = noProxy;

  const blockedTcpPorts = parseList(r, 'BLOCKED_PORTS', DEFAULT_BLOCKED_PORTS.join(','), (s) => {
    const n = Number(s);
    return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
  });
  const blockedAddresses = parseList(r, 'BLOCKED_ADDRESSES', DEFAULT_BLOCKED_ADDRESSES.join(','), (s) => (isIpv4OrCidr(s) ? s : undefined));
  const jobNetwork = r.string('JOB_NETWORK', 'iron-jobs') ?? 'iron-jobs';
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(jobNetwork)) r.problem('JOB_NETWORK must be 1-15 letters, digits, ., - or _ (it names a Linux bridge)');

  const logLevel = r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info');
  const logFormat = r.oneOf('LOG_FORMAT', ['auto', 'json', 'pretty'] as const, 'auto');
  const imageCacheRaw = r.raw('IMAGE_CACHE_SIZE');

  const config: RunnerConfig = {
    clusterId,
    clusterToken,
    apiUrls,
    decryptionKey,
    concurrency,
    concurrencyDerived: concurrencyRaw === undefined,
    memoryPerJob,
    jobsMemory,
    diskPerJob,
    cpuShares,
    cpusPerJob,
    pidsPerJob: r.int('PIDS_PER_JOB', 256, 16, 1_000_000),
    dockerHost: r.raw('DOCKER_HOST'),
    engineTimeoutMs: r.durationMs('ENGINE_TIMEOUT', 60_000, 1_000),
    enginePingIntervalMs: r.durationMs('ENGINE_PING_INTERVAL', 5_000, 100),
    enginePingTimeoutMs: r.durationMs('ENGINE_PING_TIMEOUT', 10_000, 100),
    jobsDir,
    instanceId,
    logLevel,
    logPretty: logFormat === 'pretty' || (logFormat === 'auto' && ctx.isTty === true),
    logJobOutput: r.bool('LOG_JOB_OUTPUT', false),
    maxLogSize: r.size('MAX_LOG_SIZE', 16 * MiB, 1024),
    logFlushIntervalMs: r.durationMs('LOG_FLUSH_INTERVAL', 250, 10),
    drainTimeoutMs: r.durationMs('DRAIN_TIMEOUT', 300_000),
    stopGraceMs: r.durationMs('STOP_GRACE', 10_000),
    metricsAddr,
    pollWaitS: Math.round(r.durationMs('POLL_WAIT', 30_000, 1000) / 1000),
    apiCa,
    proxy,
    jobNetwork,
    blockedTcpPorts,
    blockedAddresses,
    manageEgressRules: r.bool('MANAGE_EGRESS_RULES', true),
    imageCacheBytes: imageCacheRaw === undefined ? undefined : r.size('IMAGE_CACHE_SIZE', 0, 64 * MiB),
    pullTimeoutMs: r.durationMs('PULL_TIMEOUT', 600_000, 1000),
    prePull: r.bool('PRE_PULL', true),
    jobInput: r.oneOf('JOB_INPUT', ['auto', 'volume'] as const, 'auto'),
    codeCacheBytes: r.size('CODE_CACHE_SIZE', 1024 * MiB, 0),
    zipLimits: readZipLimits(r),
  };
  if (config.pollWaitS > 30) r.problem('POLL_WAIT must be at most 30s (the API holds a reserve at most that long)');
  if (diskPerJob !== undefined && diskPerJob > memoryPerJob * 64) r.problem(`DISK_PER_JOB (${formatSize(diskPerJob)}) looks wrong next to MEMORY_PER_JOB`);
  r.finish('iron-runner');
  return deepFreeze(config);
}

/** The API as logs and readiness name it: the replicas, comma-separated. */
export function describeApi(c: Pick<RunnerConfig, 'apiUrls'>): string {
  return c.apiUrls.map((u) => u.origin).join(', ');
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::1' || h === '0:0:0:0:0:0:0:1';
}

/** Memory jobs may use: the smaller of the host's and our cgroup's limit, minus headroom for the system. */
function usableMemory(): number {
  let limit = totalmem();
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const v = Number(readFileSync(file, 'utf8').trim());
      if (Number.isFinite(v) && v > 0 && v < limit) limit = v;
    } catch {
      // not this cgroup version
    }
  }
  return Math.max(0, limit - Math.max(512 * MiB, limit * 0.1));
}

function parseAddr(r: ConfigReader, name: string): { host: string; port: number } | undefined {
  const v = r.raw(name);
  if (v === undefined) return undefined;
  const m = /^(?:\[?([^\]]*)\]?:)?(\d{1,5})$/.exec(v.trim());
  const port = Number(m?.[2]);
  if (m === null || port > 65535) {
    r.problem(`${name} must be [host]:port, e.g. 0.0.0.0:9090 or :9090 (got ${JSON.stringify(v)})`);
    return undefined;
  }
  return { host: m[1] === undefined || m[1] === '' ? '0.0.0.0' : m[1], port };
}

function parseList<T>(r: ConfigReader, name: string, fallback: string, item: (s: string) => T | undefined): T[] {
  const raw = r.raw(name) ?? fallback;
  if (raw.trim() === '' || raw.trim() === 'none') return [];
  const out: T[] = [];
  for (const part of raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const v = item(part);
    if (v === undefined) r.problem(`${name}: ${JSON.stringify(part)} is not valid`);
    else out.push(v);
  }
  return out;
}
