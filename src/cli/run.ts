// The CLI as a function (argv in, exit code out) so tests can drive it in-process as well as
// through the real binary. Errors become one line on stderr and a documented exit code.
import { isIronError, type ErrorCode } from '../errors.js';
import { createLogger, silentLogger } from '../log.js';
import { Opts, parseArgs, type OptValues } from './args.js';
import { EXIT, GLOBAL_OPTIONS, type Command } from './command.js';
import { COMMANDS } from './commands/index.js';
import { CliContext, type CliIo } from './context.js';
import { commandHelp, groupHelp, mainHelp } from './help.js';

import { VERSION } from '../version.js';

export { VERSION };

function exitCodeFor(code: ErrorCode | undefined): number {
  if (code === undefined) return EXIT.FAILED;
  if (code === 'ERR_ABORTED') return EXIT.INTERRUPTED;
  if (code === 'ERR_API_UNAUTHORIZED' || code === 'ERR_API_FORBIDDEN') return EXIT.AUTH;
  if (code === 'ERR_API_NOT_FOUND') return EXIT.NOT_FOUND;
  if (code === 'ERR_API_NETWORK' || code === 'ERR_API_UNAVAILABLE') return EXIT.UNREACHABLE;
  if (code === 'ERR_TASK_FAILED') return EXIT.TASK_FAILED;
  if (['ERR_CLI_USAGE', 'ERR_CONFIG_INVALID', 'ERR_CLI_NOT_CONFIGURED', 'ERR_CLI_FILE', 'ERR_INVALID_ARGUMENT'].includes(code) || code.startsWith('ERR_KEY_')) {
    return EXIT.USAGE;
  }
  return EXIT.FAILED;
}

const HINTS: Partial<Record<ErrorCode, string>> = {
  ERR_API_UNAUTHORIZED: 'the API rejected the token; check IRON_TOKEN, --token or iron.json',
  ERR_API_FORBIDDEN: 'check the project id and the token: IRON_PROJECT_ID / IRON_TOKEN, --project-id / --token or iron.json',
  ERR_API_NETWORK: 'is iron-api running there? Check IRON_HOST, IRON_PORT and IRON_SCHEME',
  ERR_API_UNAVAILABLE: 'the API is unavailable; try again shortly',
};

/** One line (the config error lists its problems on the following lines). */
export function describeError(err: unknown, debug: boolean): string {
  if (isIronError(err)) {
    const hint = HINTS[err.code];
    const head = `iron: ${err.message}${hint === undefined ? '' : ` (${hint})`} [${err.code}]`;
    return debug && err.stack !== undefined ? `${head}\n${err.stack}\n` : `${head}\n`;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return debug ? `iron: internal error: ${e.stack ?? e.message}\n` : `iron: internal error: ${e.message} (run with --debug for details)\n`;
}

function findCommand(words: readonly string[]): Command | undefined {
  let best: Command | undefined;
  for (const c of COMMANDS) {
    if (c.path.length <= words.length && c.path.every((w, i) => words[i] === w) && (best === undefined || c.path.length > best.path.length)) best = c;
  }
  return best;
}

function str(v: OptValues[string]): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export async function runCli(argv: readonly string[], io: CliIo, signal: AbortSignal): Promise<number> {
  let debug = argv.includes('--debug') || argv.includes('-debug');
  let ctx: CliContext | undefined;
  try {
    // Before option parsing: `--version` is no option of any command.
    if (argv[0] === '--version' || argv[0] === 'version') {
      io.stdout.write(`iron ${VERSION}\n`);
      return EXIT.OK;
    }
    const head = parseArgs(argv, GLOBAL_OPTIONS, { stopAtPositional: true, command: 'iron' });
    const [first] = head.positionals;
    if (first === undefined || first === 'help' || (head.values.help === true && head.positionals.length === 0)) {
      const target = first === 'help' ? findCommand(head.positionals.slice(1)) : undefined;
      io.stdout.write(target === undefined ? mainHelp(COMMANDS) : commandHelp(target));
      return first === undefined && head.values.help !== true ? EXIT.USAGE : EXIT.OK;
    }
    const command = findCommand(head.positionals);
    if (command === undefined) {
      if (COMMANDS.some((c) => c.path[0] === first) && head.positionals.length === 1) {
        io.stdout.write(groupHelp(first, COMMANDS));
        return EXIT.USAGE;
      }
      io.stderr.write(`iron: unknown command '${head.positionals.slice(0, 2).join(' ')}' (see 'iron help') [ERR_CLI_USAGE]\n`);
      return EXIT.USAGE;
    }
    const name = `iron ${command.path.join(' ')}`;
    const rest = head.positionals.slice(command.path.length);
    const parsed = parseArgs(rest, [...GLOBAL_OPTIONS, ...command.options], { command: name, stopAtPositional: command.stopAtPositional === true });
    const values: OptValues = { ...head.values, ...parsed.values };
    if (values.help === true) {
      io.stdout.write(commandHelp(command));
      return EXIT.OK;
    }
    debug = values.debug === true;
    const log = debug ? createLogger({ level: 'debug', name: 'iron', destination: { write: (s: string) => io.stderr.write(s) } }) : silentLogger();
    ctx = new CliContext(io, signal, log, {
      token: str(values.token),
      projectId: str(values['project-id']),
      host: str(values.host),
      port: str(values.port),
      scheme: str(values.scheme),
      caFile: str(values['ca-file']),
    });
    return await command.run(ctx, new Opts(values, name), parsed.positionals);
  } catch (err) {
    io.stderr.write(describeError(err, debug));
    return exitCodeFor(isIronError(err) ? err.code : undefined);
  } finally {
    await ctx?.close();
  }
}
