// Parses `iron-runner exec` arguments into one validated, frozen request. Every problem is
// collected and reported at once (ERR_CONFIG_INVALID, exit 2), like the daemon's configuration.
import { scanArgv } from '../config/argv.js';
import { deepFreeze, ConfigReader } from '../config/reader.js';
import type { Env } from '../config/env.js';
import { parseDurationMs, parseSize } from '../config/units.js';
import { IronError } from '../errors.js';
import { LOG_LEVELS, type LogLevel } from '../log.js';
import { readZipLimits } from '../config/zip-limits.js';
import type { ZipLimits } from '../zip/index.js';

export interface ExecRequest {
  image: string;
  command: string[] | undefined;
  payloadFile: string | undefined;
  configFile: string | undefined;
  /** A code package zip, unpacked into the task's directory as the daemon does. */
  zipFile: string | undefined;
  env: Record<string, string>;
  memoryBytes: number;
  diskBytes: number | undefined;
  nanoCpus: number | undefined;
  pidsLimit: number | undefined;
  timeoutMs: number;
  maxLogBytes: number;
  stopGraceMs: number;
  dockerHost: string | undefined;
  logLevel: LogLevel;
  zipLimits: ZipLimits;
}

export const EXEC_USAGE = `usage: iron-runner exec --image IMG [options] [-- CMD ARGS...]

Runs one task in a sandboxed container exactly as the runner daemon would, streams its stdout and
stderr, and prints the outcome as one JSON line on stderr. Exit status: 0 complete, 1 otherwise,
2 invalid arguments.

  --image IMG            image to run (pulled if not present)
  --payload-file F       file whose bytes the task reads at $PAYLOAD_FILE (default: empty)
  --config-file F        file whose text the task reads at $CONFIG_FILE (default: empty)
  --zip F                code package zip: checked like an upload, unpacked into $TASK_DIR (the
                         working directory) before CMD runs; MAX_CODE_FILES, MAX_CODE_UNPACKED_SIZE
                         and MAX_CODE_RATIO apply
  --env K=V              environment variable for the task (repeatable)
  --memory SIZE          memory limit, swap included (default 256M)
  --disk SIZE            writable disk for the task (default: half the memory in fallback mode)
  --cpus N               hard CPU limit, e.g. 0.5
  --pids N               process limit (default 256)
  --timeout DURATION     task timeout (default 1h)
  --max-log-size SIZE    output after which it is truncated (default 10M)
  --grace DURATION       SIGTERM -> SIGKILL grace on timeout/cancel (default 10s)

Environment: DOCKER_HOST (default unix:///var/run/docker.sock), LOG_LEVEL (default warn),
MAX_CODE_FILES, MAX_CODE_UNPACKED_SIZE, MAX_CODE_RATIO (see --zip).
`;

const VALUE_FLAGS = new Set(['image', 'payload-file', 'config-file', 'zip', 'env', 'memory', 'disk', 'cpus', 'pids', 'timeout', 'max-log-size', 'grace']);

export function parseExecArgs(argv: readonly string[], env: Env): Readonly<ExecRequest> {
  const problems: string[] = [];
  const values = new Map<string, string[]>();
  let command: string[] | undefined;
  for (const t of scanArgv(argv, { dashes: 'gnu', kind: (name) => (VALUE_FLAGS.has(name) ? 'value' : undefined) })) {
    if (t.type === 'end') command = [...t.rest];
    else if (t.type === 'positional') problems.push(`unknown argument ${JSON.stringify(t.value)}`);
    else if (t.type === 'unknown') problems.push(`unknown argument ${JSON.stringify(t.word)}`);
    else if (t.type === 'missing-value') problems.push(`--${t.name} needs a value`);
    else values.set(`--${t.name}`, [...(values.get(`--${t.name}`) ?? []), t.value ?? '']);
  }
  const one = (name: string): string | undefined => {
    const v = values.get(name);
    if (v !== undefined && v.length > 1) problems.push(`${name} given more than once`);
    return v?.[0];
  };
  const size = (name: string, fallback: number | undefined, min: number): number | undefined => {
    const v = one(name);
    if (v === undefined) return fallback;
    const n = parseSize(v);
    if (n === undefined || n < min) problems.push(`${name} must be a size like 64M of at least ${min} bytes (got ${JSON.stringify(v)})`);
    return n;
  };
  const duration = (name: string, fallback: number): number => {
    const v = one(name);
    if (v === undefined) return fallback;
    const n = parseDurationMs(v);
    if (n === undefined || n <= 0) problems.push(`${name} must be a duration like 10s or 5m (got ${JSON.stringify(v)})`);
    return n ?? fallback;
  };

  const image = one('--image');
  if (image === undefined || image === '') problems.push('--image is required');
  const taskEnv: Record<string, string> = {};
  for (const kv of values.get('--env') ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) problems.push(`--env must be K=V (got ${JSON.stringify(kv.slice(0, 64))})`);
    else taskEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  let nanoCpus: number | undefined;
  const cpus = one('--cpus');
  if (cpus !== undefined) {
    const n = Number(cpus);
    if (!/^\d+(\.\d+)?$/.test(cpus) || n < 0.01) problems.push(`--cpus must be a number of CPUs like 0.5 (got ${JSON.stringify(cpus)})`);
    else nanoCpus = Math.round(n * 1e9);
  }
  let pidsLimit: number | undefined;
  const pids = one('--pids');
  if (pids !== undefined) {
    if (!/^\d+$/.test(pids) || Number(pids) < 8) problems.push(`--pids must be a whole number of at least 8 (got ${JSON.stringify(pids)})`);
    else pidsLimit = Number(pids);
  }
  if (command !== undefined && command.length === 0) problems.push('nothing after --: give a command or leave -- out');

  const reader = new ConfigReader(env);
  const logLevel = reader.oneOf('LOG_LEVEL', LOG_LEVELS, 'warn');
  const dockerHost = reader.string('DOCKER_HOST');
  const zipLimits = readZipLimits(reader);
  problems.push(...reader.problems);

  const req: ExecRequest = {
    image: image ?? '',
    command,
    payloadFile: one('--payload-file'),
    configFile: one('--config-file'),
    zipFile: one('--zip'),
    env: taskEnv,
    memoryBytes: size('--memory', 256 * 1024 * 1024, 6 * 1024 * 1024) ?? 0,
    diskBytes: size('--disk', undefined, 1024 * 1024),
    nanoCpus,
    pidsLimit,
    timeoutMs: duration('--timeout', 3_600_000),
    maxLogBytes: size('--max-log-size', 10 * 1024 * 1024, 0) ?? 0,
    stopGraceMs: duration('--grace', 10_000),
    dockerHost,
    logLevel,
    zipLimits,
  };
  if (problems.length > 0) {
    throw new IronError('ERR_CONFIG_INVALID', `invalid iron-runner exec arguments:\n  - ${problems.join('\n  - ')}`, { details: { problems: problems.length } });
  }
  return deepFreeze(req);
}
