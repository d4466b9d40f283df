// A small argv parser with Go-flag manners, because users' scripts were written for ironcli:
// `-payload x` and `--payload x` and `--payload=x` all work, a string option takes the next word even
// when it starts with "-" (a PEM key does: "-----BEGIN PUBLIC KEY-----"), and `iron register` stops at
// the image so the container command's own flags pass through untouched.
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
  const values: OptValues = {};
  const positionals: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] ?? '';
    i++;
    if (arg === '--') { positionals.push(...argv.slice(i)); break; }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      if (opts.stopAtPositional === true) { positionals.push(...argv.slice(i)); break; }
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const spec = byName.get(name);
    if (spec === undefined) throw usage(opts.command, `unknown option ${arg.split('=')[0] ?? arg}`);
    let value: string | boolean;
    if (spec.type === 'boolean') {
      if (eq === -1) value = true;
      else {
        const v = body.slice(eq + 1).toLowerCase();
        if (!['true', 'false', '1', '0'].includes(v)) throw usage(opts.command, `option --${spec.name} takes true or false`);
        value = v === 'true' || v === '1';
      }
    } else if (eq !== -1) {
      value = body.slice(eq + 1);
    } else {
      const next = argv[i];
      if (next === undefined) throw usage(opts.command, `option --${spec.name} needs a value`);
      value = next;
      i++;
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
  constructor(readonly values: OptValues, private readonly command: string) {}

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
