// The root pino logger. One is created per process by its main() and passed down; modules take
// child loggers (`log.child({ task_id })`) and never create their own roots.
import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Paths whose values are secrets wherever they appear in a log object. Redaction is the last line of
 * defence: code should not log secrets in the first place, but a careless `log.info({ cfg })` must not
 * leak a token or a key.
 */
export const REDACT_PATHS: readonly string[] = [
  'token',
  '*.token',
  '*.*.token',
  'clusterToken',
  '*.clusterToken',
  'cluster_token',
  '*.cluster_token',
  'CLUSTER_TOKEN',
  '*.CLUSTER_TOKEN',
  'decryptionKey',
  '*.decryptionKey',
  'DECRYPTION_KEY',
  '*.DECRYPTION_KEY',
  'privateKey',
  '*.privateKey',
  'private_key',
  '*.private_key',
  'password',
  '*.password',
  '*.*.password',
  'payload',
  '*.payload',
  'plaintext',
  '*.plaintext',
  'docker_auth',
  '*.docker_auth',
  'auth',
  '*.auth',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.headers.authorization',
  'req.headers.cookie',
  'env_vars',
  '*.env_vars',
];

export interface CreateLoggerOptions {
  level?: LogLevel;
  /** Human-readable output (for a TTY). Falls back to JSON when pino-pretty is not installed. */
  pretty?: boolean;
  name?: string;
  /** Write somewhere other than stderr (tests capture logs with this). */
  destination?: DestinationStream;
  /**
   * Write each line before returning (one-shot commands whose own output must stay ordered after
   * the log, e.g. `iron-runner exec`'s final outcome line). The daemons keep the faster async writes.
   */
  sync?: boolean;
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const pinoOptions: LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    base: options.name === undefined ? { pid: process.pid } : { pid: process.pid, name: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }), log: uniqueKeys },
    serializers: { err: pino.stdSerializers.err },
  };
  if (options.destination !== undefined) return pino(pinoOptions, options.destination);
  if (options.pretty === true) {
    return pino({ ...pinoOptions, transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } } });
  }
  return pino(pinoOptions, pino.destination({ dest: 2, sync: options.sync === true }));
}

// Keys pino writes itself. A log object or child binding using one would produce a line with the key
// twice, and JSON parsers keep the last one ("task finished" replacing the reason, `name` reading the
// logger's name): such a key is renamed with a trailing underscore instead. (pino applies no
// formatter to child bindings: child loggers must not bind these keys; none does.)
const PINO_KEYS: ReadonlySet<string> = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

function uniqueKeys(o: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(o)) {
    if (!PINO_KEYS.has(k)) continue;
    out ??= { ...o };
    delete out[k];
    out[`${k}_`] = o[k];
  }
  return out ?? o;
}

/** A logger that drops everything; for library callers and tests that do not care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
