// A registered `command` is a string (ironcli joins its CMD args with spaces). We split it the way a
// POSIX shell splits words, quotes and backslashes included, without running a shell: images need
// not contain one, and nothing in the command is expanded.
import { IronError } from '../errors.js';

export function splitCommand(command: string): string[] | undefined {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i] ?? '';
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < command.length && '"\\$`'.includes(command[i + 1] ?? '')) word += command[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < command.length) {
      word += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new IronError('ERR_INVALID_ARGUMENT', `unterminated ${quote} quote in the command`);
  if (inWord) out.push(word);
  return out.length === 0 ? undefined : out;
}
