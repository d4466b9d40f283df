// iron-api configuration: flags > env > defaults, validated once into a frozen object. Every problem
// is collected so an operator sees all of them in one message (exit code 2).
import { createSecureContext } from 'node:tls';
import { resolve } from 'node:path';
import { scanArgv } from './argv.js';
import type { Env } from './env.js';
import { ConfigReader, deepFreeze } from './reader.js';
import { LOG_LEVELS, type LogLevel } from '../log.js';
import { readZipLimits } from './zip-limits.js';
import type { ZipLimits } from '../zip/limits.js';

export interface ServerConfig {
  readonly host: string;
  /** 0 = pick a free port (tests). */
  readonly port: number;
  readonly dataDir: string;
  /** Host written into the bootstrap iron.json (defaults to the bind host, 127.0.0.1 for a wildcard bind). */
  readonly publicHost: string;
  readonly logLevel: LogLevel;
  /** Max size of a task payload, a code config and a progress msg. */
  readonly maxPayloadBytes: number;
  /** Max size of a JSON request body (a batch of tasks). */
  readonly maxBodyBytes: number;
  /** Max size of a code-package zip upload. */
  readonly maxCodeBytes: number;
  /** What an uploaded package may unpack to (entries, total size, compression ratio). */
  readonly zipLimits: ZipLimits;
  readonly leaseMs: number;
  readonly heartbeatIntervalMs: number;
  /**
   * What runners holding no task are told to beat at: they renew nothing, and their parked reserve
   * already shows the API they are there, so a beat only keeps them listed (RUNNER_LOST_AFTER).
   */
  readonly idleHeartbeatIntervalMs: number;
  /** Lease expiries a task survives before it ends `error` "runner lost". */
  readonly maxAttempts: number;
  /** A runner instance not heard from for this long shows as `lost` (cluster stats). */
  readonly runnerLostAfterMs: number;
  /** A lost runner instance stays listed this long after it was last seen, then is dropped. */
  readonly runnerRetentionMs: number;
  /** Upper bound of a long-poll reserve. */
  readonly maxWaitMs: number;
  /** Default per-task memory/disk of a new cluster. */
  readonly clusterMemory: number;
  readonly clusterDisk: number;
  /** How long graceful shutdown waits for in-flight requests before closing sockets. */
  readonly shutdownGraceMs: number;
  /** Longest time to receive a whole request (headers and body); a parked reserve has been received already. */
  readonly requestTimeoutMs: number;
  /** A request body that sends nothing for this long is cut (408). */
  readonly bodyIdleMs: number;
  /** Open connections at most; past it the oldest idle one (no request in flight) is closed. */
  readonly maxConnections: number;
  /** Bytes of task log the API stores per task; past it the log is marked truncated. */
  readonly maxLogBytes: number;
  /** Parked long-poll reserves per cluster; more are refused with 503 and Retry-After. */
  readonly maxParkedPerCluster: number;
  /** Bearer token for the full /metrics (per-cluster series); without it /metrics shows aggregates only. */
  readonly metricsToken?: string;
  /** PostgreSQL instead of the embedded SQLite file: several replicas may share it. */
  readonly database?: DatabaseConfig;
  /** Finished tasks (and their logs) older than this are deleted; 0 keeps them forever. */
  readonly retentionMs: number;
  /** PEM certificate chain and private key: when set, iron-api serves https only. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export interface DatabaseConfig {
  /** postgres://user:password@host:port/db?sslmode=... (the password is never logged). */
  readonly url: string;
  /** Connections at most in this replica's pool. */
  readonly poolMax: number;
  /** Server-side bound of one statement. */
  readonly statementTimeoutMs: number;
}

export const SERVER_ENV_HELP = `Usage: iron-api [flags]
       iron-api token create [--project NAME] [--data-dir DIR | --database-url URL]
       iron-api cluster create --project-id ID --name NAME [--data-dir DIR | --database-url URL]

Self-hostable IronWorker v2 API with the iron-runner protocol (SQLite in the data dir, or PostgreSQL).
Flags win over environment variables, which win over defaults.

  --host, HOST                         bind address (default 127.0.0.1)
  --port, PORT                         TCP port; 0 picks a free one (default 8080)
  --data-dir, DATA_DIR                 data directory: iron.db, logs/, code/ (default ./iron-data)
  --public-host, PUBLIC_HOST           host written into the bootstrap iron.json (default: bind host)
  --log-level, LOG_LEVEL               fatal|error|warn|info|debug|trace|silent (default info)
  --max-payload-size, MAX_PAYLOAD_SIZE payload/config/progress msg limit (default 64K)
  --max-body-size, MAX_BODY_SIZE       JSON request body limit (default 4M)
  --max-code-size, MAX_CODE_SIZE       code zip upload limit (default 256M)
  --max-code-files, MAX_CODE_FILES     entries a code zip may hold (default 10000)
  --max-code-unpacked-size, MAX_CODE_UNPACKED_SIZE  what a code zip may unpack to (default 1G)
  --max-code-ratio, MAX_CODE_RATIO     largest compression ratio of an entry over 1 MiB (default 200)
  --lease, LEASE                       runner lease per reservation (default 60s)
  --heartbeat-interval, HEARTBEAT_INTERVAL  what runners holding tasks are told to use (default 1s)
  --idle-heartbeat-interval, IDLE_HEARTBEAT_INTERVAL  what runners holding no task are told to use
                                       (default a third of RUNNER_LOST_AFTER, at least HEARTBEAT_INTERVAL)
  --max-attempts, MAX_ATTEMPTS         lease expiries before "runner lost" (default 3)
  --runner-lost-after, RUNNER_LOST_AFTER  a runner silent this long shows as lost (default 10s)
  --runner-retention, RUNNER_RETENTION  how long a lost runner stays listed (default 24h)
  --cluster-memory, CLUSTER_MEMORY     default per-task memory of new clusters (default 256M)
  --cluster-disk, CLUSTER_DISK         default per-task disk of new clusters (default 10G)
  --shutdown-grace, SHUTDOWN_GRACE     graceful shutdown bound (default 10s)
  --request-timeout, REQUEST_TIMEOUT   time to receive a whole request, code uploads included (default 5m)
  --max-connections, MAX_CONNECTIONS   open connections; past it idle ones are closed (default 1000)
  --max-task-log-size, MAX_TASK_LOG_SIZE  task log bytes stored per task, then truncated (default 100M)
  --database-url, DATABASE_URL         PostgreSQL URL (also DATABASE_URL_FILE): replicas share it (default: SQLite)
  --database-pool-max, DATABASE_POOL_MAX  connections per replica to PostgreSQL (default 10)
  --database-statement-timeout, DATABASE_STATEMENT_TIMEOUT  bound of one SQL statement (default 30s)
  --retention, RETENTION               days finished tasks and their logs are kept; 0 = forever (default 30)
  --metrics-token, METRICS_TOKEN       Bearer token for the per-cluster /metrics series (also METRICS_TOKEN_FILE)
  --tls-cert, TLS_CERT_FILE            PEM certificate (chain) file: serve https (needs --tls-key)
  --tls-key, TLS_KEY_FILE              PEM private key file of that certificate (also TLS_KEY inline)
  -h, --help                           this text
  -v, --version                        print the version and exit

On a fresh data dir iron-api creates a project, its token, a default cluster and its token,
prints them once on stdout and writes iron.json (client config) into the data dir.
Without TLS files iron-api speaks plain http: bind it to 127.0.0.1 behind a TLS reverse proxy,
or give it a certificate (docs/security.md).
`;

const FLAG_TO_ENV: Readonly<Record<string, string>> = {
  host: 'HOST',
  port: 'PORT',
  'data-dir': 'DATA_DIR',
  'public-host': 'PUBLIC_HOST',
  'log-level': 'LOG_LEVEL',
  'max-payload-size': 'MAX_PAYLOAD_SIZE',
  'max-body-size': 'MAX_BODY_SIZE',
  'max-code-size': 'MAX_CODE_SIZE',
  'max-code-files': 'MAX_CODE_FILES',
  'max-code-unpacked-size': 'MAX_CODE_UNPACKED_SIZE',
  'max-code-ratio': 'MAX_CODE_RATIO',
  lease: 'LEASE',
  'heartbeat-interval': 'HEARTBEAT_INTERVAL',
  'idle-heartbeat-interval': 'IDLE_HEARTBEAT_INTERVAL',
  'max-attempts': 'MAX_ATTEMPTS',
  'runner-lost-after': 'RUNNER_LOST_AFTER',
  'runner-retention': 'RUNNER_RETENTION',
  'cluster-memory': 'CLUSTER_MEMORY',
  'cluster-disk': 'CLUSTER_DISK',
  'shutdown-grace': 'SHUTDOWN_GRACE',
  'tls-cert': 'TLS_CERT_FILE',
  'tls-key': 'TLS_KEY_FILE',
  'request-timeout': 'REQUEST_TIMEOUT',
  'max-connections': 'MAX_CONNECTIONS',
  'max-task-log-size': 'MAX_TASK_LOG_SIZE',
  'metrics-token': 'METRICS_TOKEN',
  'database-url': 'DATABASE_URL',
  'database-pool-max': 'DATABASE_POOL_MAX',
  'database-statement-timeout': 'DATABASE_STATEMENT_TIMEOUT',
  retention: 'RETENTION',
};

export interface ParsedArgs {
  readonly flags: Readonly<Record<string, string>>;
  readonly positionals: readonly string[];
  readonly help: boolean;
  readonly version: boolean;
  readonly problems: readonly string[];
}

// Flags of the admin subcommands (besides --data-dir and --log-level, which every form takes).
const SUBCOMMAND_FLAGS: Readonly<Record<string, readonly string[]>> = {
  'token create': ['project', 'project-id', 'database-url'],
  'cluster create': ['project-id', 'name', 'database-url'],
};

/** Flags the command line form does not know (a typo like --prot would otherwise serve on 8080). */
export function unknownFlags(args: ParsedArgs): string[] {
  const form = args.positionals.slice(0, 2).join(' ');
  const known = form === '' ? Object.keys(FLAG_TO_ENV) : ['data-dir', 'log-level', ...(SUBCOMMAND_FLAGS[form] ?? [])];
  return Object.keys(args.flags)
    .filter((f) => !known.includes(f))
    .map((f) => `--${f}`);
}

/** `--name value` and `--name=value`; unknown flags are kept so subcommands can read their own. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags: Record<string, string> = {};
  const positionals: string[] = [];
  const problems: string[] = [];
  let help = false;
  let version = false;
  const tokens = scanArgv(argv, {
    dashes: 'gnu',
    short: { h: 'help', v: 'version' },
    kind: (name) => (name === 'help' || name === 'version' ? 'switch' : 'value'),
  });
  for (const t of tokens) {
    if (t.type === 'positional') positionals.push(t.value);
    else if (t.type === 'unknown') problems.push(`unknown flag ${t.word}`);
    else if (t.type === 'missing-value') problems.push(`flag ${t.word} needs a value`);
    else if (t.type === 'end') problems.push('unknown flag --');
    // `--help=x` is no switch: kept as a flag, so the unknown-flag check refuses it.
    else if (t.name === 'help' && t.value === undefined) help = true;
    else if (t.name === 'version' && t.value === undefined) version = true;
    else flags[t.name] = t.value ?? '';
  }
  return { flags, positionals, help, version, problems };
}

/** Limits no flag or variable sets (tests and embedders may, through serverConfig()). */
type FixedLimits = Pick<ServerConfig, 'maxWaitMs' | 'bodyIdleMs' | 'maxParkedPerCluster'>;
const FIXED_LIMITS: FixedLimits = { maxWaitMs: 30_000, bodyIdleMs: 30_000, maxParkedPerCluster: 256 };

/** Builds the server config from parsed flags (winning) and the environment. */
export function loadServerConfig(args: ParsedArgs, env: Env, cwd = process.cwd()): ServerConfig {
  return buildServerConfig(args, env, cwd, FIXED_LIMITS);
}

function buildServerConfig(args: ParsedArgs, env: Env, cwd: string, fixed: FixedLimits): ServerConfig {
  const merged: Record<string, string | undefined> = { ...env };
  for (const [flag, value] of Object.entries(args.flags)) {
    const name = FLAG_TO_ENV[flag];
    if (name !== undefined) merged[name] = value;
  }
  const r = new ConfigReader(merged);
  for (const p of args.problems) r.problem(p);
  const host = r.string('HOST', '127.0.0.1') ?? '127.0.0.1';
  const heartbeatIntervalMs = r.durationMs('HEARTBEAT_INTERVAL', 1000, 10);
  const runnerLostAfterMs = r.durationMs('RUNNER_LOST_AFTER', 10_000, 30);
  const wildcard = host === '0.0.0.0' || host === '::';
  const cfg: ServerConfig = {
    host,
    port: r.int('PORT', 8080, 0, 65535),
    dataDir: resolve(cwd, r.string('DATA_DIR', 'iron-data') ?? 'iron-data'),
    publicHost: r.string('PUBLIC_HOST', wildcard ? '127.0.0.1' : host) ?? host,
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    maxPayloadBytes: r.size('MAX_PAYLOAD_SIZE', 64 * 1024, 1),
    maxBodyBytes: r.size('MAX_BODY_SIZE', 4 * 1024 * 1024, 1024),
    maxCodeBytes: r.size('MAX_CODE_SIZE', 256 * 1024 * 1024, 1024),
    zipLimits: readZipLimits(r),
    leaseMs: r.durationMs('LEASE', 60_000, 100),
    heartbeatIntervalMs,
    // Default: a runner is listed as lost after about three idle beats went missing.
    idleHeartbeatIntervalMs: r.durationMs('IDLE_HEARTBEAT_INTERVAL', Math.max(heartbeatIntervalMs, Math.floor(runnerLostAfterMs / 3)), 10),
    maxAttempts: r.int('MAX_ATTEMPTS', 3, 1, 100),
    runnerLostAfterMs,
    runnerRetentionMs: r.durationMs('RUNNER_RETENTION', 24 * 3_600_000, 1000),
    clusterMemory: r.size('CLUSTER_MEMORY', 256 * 1024 * 1024, 4 * 1024 * 1024),
    clusterDisk: r.size('CLUSTER_DISK', 10 * 1024 ** 3, 0),
    shutdownGraceMs: r.durationMs('SHUTDOWN_GRACE', 10_000, 0),
    maxWaitMs: fixed.maxWaitMs,
    requestTimeoutMs: r.durationMs('REQUEST_TIMEOUT', 300_000, 1000),
    bodyIdleMs: fixed.bodyIdleMs,
    maxConnections: r.int('MAX_CONNECTIONS', 1000, 16, 1_000_000),
    maxLogBytes: r.size('MAX_TASK_LOG_SIZE', 100 * 1024 * 1024, 1024),
    maxParkedPerCluster: fixed.maxParkedPerCluster,
    retentionMs: r.int('RETENTION', 30, 0, 36_500) * 86_400_000,
  };
  if (cfg.heartbeatIntervalMs * 2 > cfg.leaseMs) r.problem('HEARTBEAT_INTERVAL must be at most half of LEASE');
  if (cfg.heartbeatIntervalMs * 2 > cfg.runnerLostAfterMs) r.problem('RUNNER_LOST_AFTER must be at least twice HEARTBEAT_INTERVAL');
  else if (cfg.idleHeartbeatIntervalMs * 2 > cfg.runnerLostAfterMs) r.problem('RUNNER_LOST_AFTER must be at least twice IDLE_HEARTBEAT_INTERVAL');
  if (cfg.idleHeartbeatIntervalMs < cfg.heartbeatIntervalMs) r.problem('IDLE_HEARTBEAT_INTERVAL must be at least HEARTBEAT_INTERVAL');
  for (const [name, v] of Object.entries(fixed)) if (!Number.isSafeInteger(v) || v < 1) r.problem(`${name} must be a positive whole number (got ${String(v)})`);
  const database = readDatabase(r);
  const tls = readTls(r);
  const metricsToken = r.secret('METRICS_TOKEN')?.trim();
  if (metricsToken !== undefined && metricsToken.length < 16) r.problem('METRICS_TOKEN must be at least 16 characters');
  r.finish('iron-api');
  return deepFreeze({ ...cfg, ...(database === undefined ? {} : { database }), ...(tls === undefined ? {} : { tls }), ...(metricsToken === undefined ? {} : { metricsToken }) });
}

/** DATABASE_URL selects PostgreSQL. Problems name the variable, never the URL (it may hold a password). */
function readDatabase(r: ConfigReader): DatabaseConfig | undefined {
  const poolMax = r.int('DATABASE_POOL_MAX', 10, 1, 1000);
  const statementTimeoutMs = r.durationMs('DATABASE_STATEMENT_TIMEOUT', 30_000, 100);
  const url = r.secret('DATABASE_URL')?.trim();
  if (url === undefined || url === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    r.problem('DATABASE_URL is not a URL (postgres://user:password@host:5432/database)');
    return undefined;
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    r.problem(`DATABASE_URL must start with postgres:// or postgresql:// (got ${parsed.protocol}//)`);
    return undefined;
  }
  return { url, poolMax, statementTimeoutMs };
}

/** The database URL without its password, for logs and messages. */
export function redactedDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable)';
  }
}

/**
 * Both files or neither. The pair is loaded into a TLS context here so that a wrong key, a key that
 * does not match the certificate, or a non-PEM file is a startup problem, not a failed handshake later.
 * Problems name the variables, never the key material.
 */
function readTls(r: ConfigReader): { cert: string; key: string } | undefined {
  const cert = r.secret('TLS_CERT');
  const key = r.secret('TLS_KEY');
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    r.problem('TLS needs both a certificate (TLS_CERT_FILE, --tls-cert) and its key (TLS_KEY_FILE, --tls-key)');
    return undefined;
  }
  const certOk = cert.includes('-----BEGIN CERTIFICATE-----');
  const keyOk = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/.test(key);
  if (!certOk) r.problem('TLS_CERT_FILE holds no PEM certificate');
  if (!keyOk) r.problem('TLS_KEY_FILE holds no unencrypted PEM private key');
  if (!certOk || !keyOk) return undefined;
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    r.problem(`TLS_CERT_FILE and TLS_KEY_FILE cannot be used together: ${(err as { code?: string }).code ?? 'invalid'}`);
    return undefined;
  }
  return { cert, key };
}

/**
 * A config for tests and embedders: defaults plus overrides in ServerConfig's own units. The overrides
 * go through the same reader and rules as flags and variables (as the variable each one stands for),
 * so a test cannot build a config iron-api would refuse to start with.
 */
export function serverConfig(overrides: Partial<ServerConfig> & { dataDir: string }): ServerConfig {
  const env: Record<string, string> = {};
  const fixed: { -readonly [K in keyof FixedLimits]: number } = { ...FIXED_LIMITS };
  for (const [key, value] of Object.entries(overrides) as Array<[keyof ServerConfig, unknown]>) {
    if (value === undefined) continue;
    const as = OVERRIDE_AS[key];
    if (as === 'fixed') fixed[key as keyof FixedLimits] = value as number;
    else Object.assign(env, as(value as never));
  }
  return buildServerConfig(parseArgs([]), env, process.cwd(), fixed);
}

const ms = (v: number): string => `${v}ms`;

/** Each field as the variable(s) that set it; a field added to ServerConfig without one does not compile. */
const OVERRIDE_AS: { readonly [K in keyof ServerConfig]-?: 'fixed' | ((v: NonNullable<ServerConfig[K]>) => Record<string, string>) } = {
  host: (v) => ({ HOST: v }),
  port: (v) => ({ PORT: String(v) }),
  dataDir: (v) => ({ DATA_DIR: v }),
  publicHost: (v) => ({ PUBLIC_HOST: v }),
  logLevel: (v) => ({ LOG_LEVEL: v }),
  maxPayloadBytes: (v) => ({ MAX_PAYLOAD_SIZE: String(v) }),
  maxBodyBytes: (v) => ({ MAX_BODY_SIZE: String(v) }),
  maxCodeBytes: (v) => ({ MAX_CODE_SIZE: String(v) }),
  zipLimits: (v) => ({ MAX_CODE_FILES: String(v.maxEntries), MAX_CODE_UNPACKED_SIZE: String(v.maxUnpackedBytes), MAX_CODE_RATIO: String(v.maxRatio) }),
  leaseMs: (v) => ({ LEASE: ms(v) }),
  heartbeatIntervalMs: (v) => ({ HEARTBEAT_INTERVAL: ms(v) }),
  idleHeartbeatIntervalMs: (v) => ({ IDLE_HEARTBEAT_INTERVAL: ms(v) }),
  maxAttempts: (v) => ({ MAX_ATTEMPTS: String(v) }),
  runnerLostAfterMs: (v) => ({ RUNNER_LOST_AFTER: ms(v) }),
  runnerRetentionMs: (v) => ({ RUNNER_RETENTION: ms(v) }),
  maxWaitMs: 'fixed',
  clusterMemory: (v) => ({ CLUSTER_MEMORY: String(v) }),
  clusterDisk: (v) => ({ CLUSTER_DISK: String(v) }),
  shutdownGraceMs: (v) => ({ SHUTDOWN_GRACE: ms(v) }),
  requestTimeoutMs: (v) => ({ REQUEST_TIMEOUT: ms(v) }),
  bodyIdleMs: 'fixed',
  maxConnections: (v) => ({ MAX_CONNECTIONS: String(v) }),
  maxLogBytes: (v) => ({ MAX_TASK_LOG_SIZE: String(v) }),
  maxParkedPerCluster: 'fixed',
  metricsToken: (v) => ({ METRICS_TOKEN: v }),
  tls: (v) => ({ TLS_CERT: v.cert, TLS_KEY: v.key }),
  database: (v) => ({ DATABASE_URL: v.url, DATABASE_POOL_MAX: String(v.poolMax), DATABASE_STATEMENT_TIMEOUT: ms(v.statementTimeoutMs) }),
  retentionMs: (v) => ({ RETENTION: String(Math.round(v / 86_400_000)) }),
};
