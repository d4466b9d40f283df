// The shape of one CLI command, and the options every command accepts.
import type { Opts, OptSpec } from './args.js';
import type { CliContext } from './context.js';

export interface Command {
  /** Words after `iron`, e.g. ['worker', 'queue']. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Synopsis after the command words, e.g. "[flags] CODE_NAME". */
  readonly synopsis: string;
  readonly options: readonly OptSpec[];
  readonly stopAtPositional?: boolean;
  /** Optional longer help text. */
  readonly details?: string;
  /** Resolves the process exit code. */
  run(ctx: CliContext, opts: Opts, args: readonly string[]): Promise<number>;
}

export const GLOBAL_OPTIONS: readonly OptSpec[] = [
  { name: 'token', type: 'string', arg: 'TOKEN', help: 'API token (default: IRON_TOKEN, iron.json)' },
  { name: 'project-id', type: 'string', arg: 'ID', help: 'project id (default: IRON_PROJECT_ID, iron.json)' },
  { name: 'host', type: 'string', arg: 'HOST', help: 'API host (default: IRON_HOST, iron.json)' },
  { name: 'port', type: 'string', arg: 'PORT', help: 'API port (default: IRON_PORT, iron.json)' },
  { name: 'scheme', type: 'string', arg: 'http|https', help: 'API scheme (default: IRON_SCHEME, iron.json, https)' },
  { name: 'ca-file', type: 'string', arg: 'PEM', help: 'extra CA certificates to trust (default: IRON_CA_FILE)' },
  { name: 'debug', type: 'boolean', help: 'log API calls and show stack traces on errors' },
  { name: 'help', short: 'h', type: 'boolean', help: 'show help' },
];

/** Exit codes, documented in `iron help`. */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  AUTH: 3,
  NOT_FOUND: 4,
  UNREACHABLE: 5,
  TASK_FAILED: 6,
  INTERRUPTED: 130,
} as const;
