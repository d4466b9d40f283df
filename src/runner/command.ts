// A registered `command` is one string (Iron's API and ironcli: the CLI args joined with spaces), and
// Iron's runner ran it as `sh -c COMMAND` (iron-io/runner, drivers/docker Prepare). We keep exactly
// that meaning without requiring a shell in every image: a command that uses no shell syntax (only
// words, quotes and backslashes) is split the way sh would split it and executed directly, which is
// what `sh -c` would have run; anything else (operators, redirections, expansions, assignments,
// comments, reserved words) runs through `sh -c` unchanged.
/** Characters that mean something to sh outside quotes (beyond word splitting and quoting). */
const UNQUOTED_SYNTAX = new Set(['|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '[', '\n']);
/** Characters that mean something to sh at the start of a word. */
const WORD_START_SYNTAX = new Set(['#', '~', '{', '}', '!']);
export const RESERVED_WORDS: ReadonlySet<string> = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'case', 'esac', 'while', 'until', 'for', 'in', 'function', 'select', '[[', ']]']);

export interface SplitResult {
  readonly words: string[];
  /** The command uses sh syntax beyond words and quoting: only a shell runs it as meant. */
  readonly needsShell: boolean;
}

export function parseCommand(command: string): SplitResult {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let shell = false;
  let quote: '"' | "'" | undefined;
  // A reserved word is one only when written without any quoting ('if' runs a program named if).
  let firstQuoted = false;
  const startWord = (c: string): void => {
    if (!inWord && WORD_START_SYNTAX.has(c)) shell = true;
    inWord = true;
  };
  for (let i = 0; i < command.length; i++) {
    const c = command[i] ?? '';
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < command.length && '"\\$`\n'.includes(command[i + 1] ?? '')) word += command[++i];
      else {
        // Expansions still happen inside double quotes.
        if (c === '$' || c === '`') shell = true;
        word += c;
      }
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
      if (words.length === 0) firstQuoted = true;
    } else if (c === '\\' && i + 1 < command.length) {
      inWord = true;
      if (words.length === 0) firstQuoted = true;
      if (command[i + 1] === '\n') shell = true; // a line continuation
      word += command[++i];
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      if (UNQUOTED_SYNTAX.has(c)) shell = true;
      // An unquoted `=` in the first word makes it a variable assignment (FOO=1 cmd).
      if (c === '=' && words.length === 0 && word !== '') shell = true;
      startWord(c);
      word += c;
    }
  }
  // An unterminated quote is a syntax error: sh reports it in the task's log, as it did on Iron.
  if (quote !== undefined) shell = true;
  if (inWord) words.push(word);
  if (words.length > 0 && !firstQuoted && RESERVED_WORDS.has(words[0] ?? '')) shell = true;
  return { words, needsShell: shell };
}

/** The argv to run for a registered command, or undefined for none (the image's own ENTRYPOINT/CMD). */
export function splitCommand(command: string): string[] | undefined {
  if (command.trim() === '') return undefined;
  const { words, needsShell } = parseCommand(command);
  if (needsShell) return ['sh', '-c', command];
  return words.length === 0 ? undefined : words;
}
