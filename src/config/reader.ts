// Reads raw strings into typed values while collecting every problem, so that invalid configuration
// is reported in one message listing all of them (and the process exits 2 before anything starts).
import { readFileSync } from 'node:fs';
import { IronError } from '../errors.js';
import type { Env } from './env.js';
import { formatSize, parseDurationMs, parseSize } from './units.js';

export class ConfigReader {
  readonly problems: string[] = [];
  constructor(
    private readonly env: Env,
    private readonly readFile: (path: string) => string = defaultReadFile,
  ) {}

  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v === '' ? undefined : v;
  }

  string(name: string, fallback?: string): string | undefined {
    return this.raw(name) ?? fallback;
  }

  required(name: string): string {
    const v = this.raw(name);
    if (v === undefined) this.problems.push(`${name} is required`);
    return v ?? '';
  }

  /**
   * A secret given either inline (NAME) or as a file (NAME_FILE). The value never appears in a
   * problem message, only the variable's name.
   */
  secret(name: string, opts: { required?: boolean } = {}): string | undefined {
    const inline = this.raw(name);
    const file = this.raw(`${name}_FILE`);
    if (inline !== undefined && file !== undefined) {
      this.problems.push(`set only one of ${name} and ${name}_FILE`);
      return undefined;
    }
    if (file !== undefined) {
      try {
        const text = this.readFile(file);
        if (text.trim() === '') this.problems.push(`${name}_FILE (${file}) is empty`);
        return text;
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'read error';
        this.problems.push(`${name}_FILE (${file}) cannot be read: ${code}`);
        return undefined;
      }
    }
    if (inline === undefined && opts.required === true) this.problems.push(`${name} (or ${name}_FILE) is required`);
    return inline;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!/^-?\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(v)})`);
      return fallback;
    }
    return Number(v);
  }

  size(name: string, fallback: number, min = 0): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const bytes = parseSize(v);
    if (bytes === undefined || bytes < min) {
      this.problems.push(`${name} must be a size like 256M or 1G${min > 0 ? ` of at least ${formatSize(min)}` : ''} (got ${JSON.stringify(v)})`);
      return fallback;
    }
    return bytes;
  }

  durationMs(name: string, fallbackMs: number, minMs = 0): number {
    const v = this.raw(name);
    if (v === undefined) return fallbackMs;
    const ms = parseDurationMs(v);
    if (ms === undefined || ms < minMs) {
      this.problems.push(`${name} must be a duration like 30s, 5m or a number of seconds (got ${JSON.stringify(v)})`);
      return fallbackMs;
    }
    return ms;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(v)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
      return fallback;
    }
    return v as T;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name)?.toLowerCase();
    if (v === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    this.problems.push(`${name} must be true or false (got ${JSON.stringify(v)})`);
    return fallback;
  }

  url(name: string, fallback: string): URL {
    const v = this.raw(name) ?? fallback;
    try {
      const u = new URL(v);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      return u;
    } catch {
      this.problems.push(`${name} must be an http:// or https:// URL (got ${JSON.stringify(v)})`);
      return new URL(fallback);
    }
  }

  /**
   * A comma-separated list of http(s) URLs (replicas of one service), each checked on its own; a bad
   * entry is named in the problem. Blank entries (a trailing comma) are ignored.
   */
  urlList(name: string, fallback: string): URL[] {
    const v = this.raw(name) ?? fallback;
    const parts = v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const urls: URL[] = [];
    for (const part of parts) {
      try {
        const u = new URL(part);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
        urls.push(u);
      } catch {
        this.problems.push(`${name} must be an http:// or https:// URL or a comma-separated list of them (${JSON.stringify(part.slice(0, 200))} is not one)`);
      }
    }
    if (parts.length === 0) this.problems.push(`${name} must name at least one http:// or https:// URL`);
    return urls.length === 0 ? [new URL(fallback)] : urls;
  }

  problem(message: string): void {
    this.problems.push(message);
  }

  /** Throws one ERR_CONFIG_INVALID listing every problem found so far. */
  finish(what: string): void {
    if (this.problems.length === 0) return;
    throw new IronError('ERR_CONFIG_INVALID', `invalid ${what} configuration:\n  - ${this.problems.join('\n  - ')}`, {
      details: { problems: this.problems.length },
    });
  }
}

function defaultReadFile(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Deep-freezes a plain config object so nothing can change it after validation. */
export function deepFreeze<T>(value: T): Readonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof URL)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
