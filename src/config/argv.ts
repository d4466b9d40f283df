// The one argv scanner of the three programs (iron, iron-api, iron-runner exec). It only splits the
// words into flags, their values and positionals; each program keeps its own manners on top (which
// names exist, what an unknown flag means, how a problem is reported and with which exit code).
// node:util parseArgs does not fit: the iron CLI keeps ironcli's Go-flag manners (`-payload x`), and
// a value may start with "-" (a PEM key: "-----BEGIN PUBLIC KEY-----"), which parseArgs refuses.

export interface ArgvGrammar {
  /**
   * 'go': `-name` means `--name` (Go's flag package, which ironcli users' scripts were written for).
   * 'gnu': only `--name` is a long flag; a single dash is one of `short`'s aliases or unknown.
   */
  readonly dashes: 'go' | 'gnu';
  /** In 'gnu' mode: the single-dash words and the flags they stand for (`-h` -> `help`). */
  readonly short?: Readonly<Record<string, string>>;
  /** 'value' takes `=value` or the next word (whatever it starts with); 'switch' takes none; undefined: unknown. */
  kind(name: string): 'value' | 'switch' | undefined;
  /** Everything from the first positional on is positional (`iron register IMAGE CMD --its-flags`). */
  readonly stopAtPositional?: boolean;
}

export type ArgvToken =
  /** `value` is the `=value` part for a switch (undefined without one), always set for a value flag. */
  | { readonly type: 'flag'; readonly name: string; readonly word: string; readonly value: string | undefined }
  | { readonly type: 'unknown'; readonly word: string }
  | { readonly type: 'missing-value'; readonly name: string; readonly word: string }
  | { readonly type: 'positional'; readonly value: string }
  /** `--`: the words after it, untouched. */
  | { readonly type: 'end'; readonly rest: readonly string[] };

/** Splits argv into tokens, in order. Never throws: what is a problem is the caller's call. */
export function scanArgv(argv: readonly string[], grammar: ArgvGrammar): ArgvToken[] {
  const tokens: ArgvToken[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? '';
    if (word === '--') {
      tokens.push({ type: 'end', rest: argv.slice(i + 1) });
      break;
    }
    if (!word.startsWith('-') || word === '-') {
      tokens.push({ type: 'positional', value: word });
      if (grammar.stopAtPositional === true) {
        for (const rest of argv.slice(i + 1)) tokens.push({ type: 'positional', value: rest });
        break;
      }
      continue;
    }
    let body: string;
    if (grammar.dashes === 'go') body = word.replace(/^--?/, '');
    else if (word.startsWith('--')) body = word.slice(2);
    else {
      const alias = grammar.short?.[word.slice(1)];
      tokens.push(alias === undefined ? { type: 'unknown', word } : { type: 'flag', name: alias, word, value: undefined });
      continue;
    }
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const inline = eq === -1 ? undefined : body.slice(eq + 1);
    const kind = grammar.kind(name);
    if (kind === undefined) tokens.push({ type: 'unknown', word });
    else if (kind === 'switch' || inline !== undefined) tokens.push({ type: 'flag', name, word, value: inline });
    else if (i + 1 < argv.length) tokens.push({ type: 'flag', name, word, value: argv[++i] ?? '' });
    else tokens.push({ type: 'missing-value', name, word });
  }
  return tokens;
}
