// Iron's API holds a code's command as one string, run as `sh -c COMMAND` (docs/compatibility.md).
// ironcli joins its CMD arguments with spaces, so `iron register IMG sh -c 'echo a; echo b'` lost
// its quoting and ran `sh -c echo a; echo b`. We quote each argument that needs it, so the stored
// string means exactly the argv the user typed, to sh and to the runner alike.

import { RESERVED_WORDS } from '../runner/command.js';

/** Characters that never need quoting for sh. */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Inside single quotes nothing is special except the quote itself: close, escape it, reopen. */
function singleQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellQuote(arg: string): string {
  return arg !== '' && SAFE.test(arg) ? arg : singleQuote(arg);
}

export function shellJoin(args: readonly string[]): string {
  // As the first word, `FOO=1` would be a variable assignment and `if` a reserved word to sh, not
  // the program to run.
  return args.map((a, i) => (i === 0 && (a.includes('=') || RESERVED_WORDS.has(a)) ? singleQuote(a) : shellQuote(a))).join(' ');
}
