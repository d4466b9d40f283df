// Help texts, generated from the command table so they never drift from what is parsed.
import type { OptSpec } from './args.js';
import { EXIT, GLOBAL_OPTIONS, type Command } from './command.js';

function optionLines(options: readonly OptSpec[]): string {
  const rows = options.map((o) => {
    const long = o.name.length === 1 ? `-${o.name}` : `--${o.name}`;
    const names = `${o.short === undefined ? '    ' : `-${o.short}, `}${long}${o.arg === undefined ? '' : ` ${o.arg}`}`;
    return [names, `${o.help ?? ''}${o.multiple === true ? ' (repeatable)' : ''}`] as const;
  });
  const width = Math.max(0, ...rows.map(([n]) => n.length));
  return rows.map(([n, h]) => `  ${n.padEnd(width)}  ${h}`).join('\n');
}

export const EXIT_CODES_TEXT = `Exit codes:
  ${EXIT.OK}    success
  ${EXIT.FAILED}    the API refused the request, or another failure
  ${EXIT.USAGE}    bad command line, missing or invalid configuration, unreadable file, unusable key
  ${EXIT.AUTH}    the token was rejected (401) or may not do this (403)
  ${EXIT.NOT_FOUND}    not found: unknown task, code, schedule or cluster
  ${EXIT.UNREACHABLE}    the API could not be reached or is unavailable (after retries)
  ${EXIT.TASK_FAILED}    --wait: the task ended with a status other than complete
  ${EXIT.INTERRUPTED}  interrupted (Ctrl-C)`;

export function mainHelp(commands: readonly Command[]): string {
  const rows = commands.map((c) => [`iron ${c.path.join(' ')}`, c.summary] as const);
  const width = Math.max(...rows.map(([n]) => n.length));
  return `iron: the IronWorker command line for iron-runner

Usage: iron COMMAND [flags] [args]

Commands:
${rows.map(([n, s]) => `  ${n.padEnd(width)}  ${s}`).join('\n')}

Configuration (first found wins): --token/--project-id/--host/--port/--scheme flags,
IRON_TOKEN, IRON_PROJECT_ID, IRON_HOST, IRON_PORT, IRON_SCHEME, ./iron.json, ~/.iron.json.
iron-api writes an iron.json on its first start: copy it here or to ~/.iron.json.

Global flags:
${optionLines(GLOBAL_OPTIONS)}

${EXIT_CODES_TEXT}

Run 'iron COMMAND --help' for a command's flags; 'iron --version' prints the version.
`;
}

export function commandHelp(c: Command): string {
  return `Usage: iron ${c.path.join(' ')} ${c.synopsis}

${c.summary}
${c.details === undefined ? '' : `\n${c.details}\n`}
${c.options.length > 0 ? `Flags:\n${optionLines(c.options)}\n\n` : ''}Global flags:
${optionLines(GLOBAL_OPTIONS)}
`;
}

/** `iron worker` alone: the commands of that group. */
export function groupHelp(group: string, commands: readonly Command[]): string {
  const inGroup = commands.filter((c) => c.path[0] === group);
  const width = Math.max(...inGroup.map((c) => c.path.join(' ').length)) + 5;
  return `Usage: iron ${group} COMMAND [flags] [args]\n\nCommands:\n${inGroup.map((c) => `  ${`iron ${c.path.join(' ')}`.padEnd(width)}  ${c.summary}`).join('\n')}\n`;
}
