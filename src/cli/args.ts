// A small argv parser with Go-flag manners, because users' scripts were written for ironcli:
// `-payload x` and `--payload x` and `--payload=x` all work, a string option takes the next word even
// when it starts with "-" (a PEM key does: "-----BEGIN PUBLIC KEY-----"), and `iron register` stops at
// the image so the container command's own flags pass through untouched. The words are split by the
// shared scanner (src/config/argv.ts); the manners above are this file's.
import { scanArgv } from '../config/argv.js';
import { IronError } from '../errors.js';

export interface OptSpec {
  readonly name: string;
  readonly short?: string;
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly help?: string;
  /** Shown in help as the value's name. */
  readonly arg?: string;
}

export type OptValues = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  readonly values: OptValues;
  readonly positionals: string[];
}

export interface ParseOptions {
  /** Everything from the first positional on is positional (`iron register IMAGE CMD...`). */
  readonly stopAtPositional?: boolean;
  /** For messages: "iron worker queue". */
  readonly command: string;
}

function usage(command: string, message: string): IronError {
  return new IronError('ERR_CLI_USAGE', `${message} (see '${command} --help')`);
}

export function parseArgs(argv: readonly string[], specs: readonly OptSpec[], opts: ParseOptions): Parsed {
  const byName = new Map<string, OptSpec>();
  for (const s of specs) {
    byName.set(s.name, s);
    if (s.short !== undefined) byName.set(s.short, s);
  }
  const tokens = scanArgv(argv, {
    dashes: 'go',
    kind: (name) => {
      const t = byName.get(name)?.type;
      return t === undefined ? undefined : t === 'boolean' ? 'switch' : 'value';
    },
    ...(opts.stopAtPositional === true ? { stopAtPositional: true } : {}),
  });
  const values: OptValues = {};
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.type === 'positional') {
      positionals.push(t.value);
      continue;
    }
    if (t.type === 'end') {
      positionals.push(...t.rest);
      continue;
    }
    if (t.type === 'unknown') throw usage(opts.command, `unknown option ${t.word.split('=')[0] ?? t.word}`);
    const spec = byName.get(t.name);
    if (spec === undefined) throw usage(opts.command, `unknown option ${t.word.split('=')[0] ?? t.word}`);
    if (t.type === 'missing-value') throw usage(opts.command, `option --${spec.name} needs a value`);
    let value: string | boolean;
    if (spec.type === 'boolean') {
      if (t.value === undefined) value = true;
      else {
        const v = t.value.toLowerCase();
        if (!['true', 'false', '1', '0'].includes(v)) throw usage(opts.command, `option --${spec.name} takes true or false`);
        value = v === 'true' || v === '1';
      }
    } else {
      value = t.value ?? '';
    }
    if (spec.multiple === true) {
      const list = (values[spec.name] as string[] | undefined) ?? [];
      list.push(String(value));
      values[spec.name] = list;
    } else {
      values[spec.name] = value;
    }
  }
  return { values, positionals };
}

/** Typed accessors that turn bad values into usage errors naming the option. */
export class Opts {
  constructor(
    readonly values: OptValues,
    private readonly command: string,
  ) {}

  str(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : undefined;
  }

  list(name: string): string[] {
    const v = this.values[name];
    return Array.isArray(v) ? v : [];
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  int(name: string, min: number, max: number): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max) {
      throw usage(this.command, `--${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(v)})`);
    }
    return Number(v);
  }

  fail(message: string): IronError {
    return usage(this.command, message);
  }
}
