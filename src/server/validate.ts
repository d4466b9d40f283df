// Field readers for request bodies and queries. Unknown fields are ignored (clients send extras such
// as `sync` and `name`); a known field of the wrong type is a 400 naming the field. `null` means unset.
import { IronError } from '../errors.js';
import { badRequest } from './http/errors.js';
import type { Page } from './store/records.js';

type Obj = Record<string, unknown>;

export function optString(o: Obj, key: string, maxBytes = 255): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badRequest(`${key} must be a string`);
  if (Buffer.byteLength(v) > maxBytes) {
    throw new IronError('ERR_SERVER_TOO_LARGE', `${key} is larger than ${maxBytes} bytes`, { details: { limit: maxBytes } });
  }
  return v;
}

export function reqString(o: Obj, key: string, maxBytes = 255): string {
  const v = optString(o, key, maxBytes);
  if (v === undefined || v === '') throw badRequest(`${key} is required`);
  return v;
}

/** A number in [min, max]; fractional seconds are rounded up (ironcli sends float64 seconds). */
export function optNumber(o: Obj, key: string, min: number, max: number, opts: { ceil?: boolean } = {}): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badRequest(`${key} must be a number`);
  const n = opts.ceil === true ? Math.ceil(v) : v;
  if (opts.ceil !== true && !Number.isInteger(n)) throw badRequest(`${key} must be a whole number`);
  if (n < min || n > max) throw badRequest(`${key} must be between ${min} and ${max}`);
  return n;
}

/** Any finite number in [min, max] (fractions allowed). */
export function optFloat(o: Obj, key: string, min: number, max: number): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badRequest(`${key} must be a number`);
  if (v < min || v > max) throw badRequest(`${key} must be between ${min} and ${max}`);
  return v;
}

/** Priorities outside 0..2 (ironcli's -3 and -1000 sentinels) mean "not set". */
export function optPriority(o: Obj, key: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badRequest(`${key} must be a whole number`);
  return v >= 0 && v <= 2 ? v : undefined;
}

export function optBool(o: Obj, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badRequest(`${key} must be true or false`);
  return v;
}

export function optStringMap(o: Obj, key: string): Record<string, string> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest(`${key} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Obj)) {
    if (typeof val === 'string') out[k] = val;
    else if (typeof val === 'number' || typeof val === 'boolean') out[k] = String(val);
    else throw badRequest(`${key}.${k} must be a string`);
  }
  return out;
}

/**
 * env_vars limits. Every value reaches the job's environment and the runner's secret masker: Linux
 * refuses a single environment string over 128 KiB at exec (MAX_ARG_STRLEN) and the whole environment
 * shares ARG_MAX with argv, so larger values could never run, and only cost the runner's masker.
 */
export const ENV_LIMITS = Object.freeze({ nameBytes: 255, valueBytes: 64 * 1024, totalBytes: 256 * 1024, count: 1000 });

/** A code's env_vars: names a process environment can hold, values and total within ENV_LIMITS (400 otherwise). */
export function optEnvVars(o: Obj, key: string): Record<string, string> | undefined {
  const env = optStringMap(o, key);
  if (env === undefined) return undefined;
  const entries = Object.entries(env);
  if (entries.length > ENV_LIMITS.count) throw badRequest(`${key} has more than ${ENV_LIMITS.count} variables`);
  let total = 0;
  for (const [name, value] of entries) {
    if (name === '' || /[=\0]/.test(name) || Buffer.byteLength(name) > ENV_LIMITS.nameBytes) {
      throw badRequest(`${key}: variable names must be 1-${ENV_LIMITS.nameBytes} bytes without "=" or NUL`);
    }
    if (value.includes('\0')) throw badRequest(`${key}.${name.slice(0, 64)} must not contain NUL`);
    const size = Buffer.byteLength(value);
    if (size > ENV_LIMITS.valueBytes) throw badRequest(`${key}.${name.slice(0, 64)} is larger than ${ENV_LIMITS.valueBytes} bytes`);
    total += Buffer.byteLength(name) + size + 2;
  }
  if (total > ENV_LIMITS.totalBytes) throw badRequest(`${key} are larger than ${ENV_LIMITS.totalBytes} bytes in total`);
  return env;
}

const MAX_OBJECT_DEPTH = 16;

/**
 * A free-form object the store keeps as JSON (a cluster's autoscale). Its nesting is bounded: the
 * request parser accepts any depth, but serialising a very deep value later overflows the stack.
 */
export function optObject(o: Obj, key: string): Obj | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest(`${key} must be an object`);
  // Iterative walk: a recursive one would hit the very stack limit it guards against.
  const pending: Array<[unknown, number]> = [[v, 1]];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const [value, depth] = item;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_OBJECT_DEPTH) throw badRequest(`${key} is nested more than ${MAX_OBJECT_DEPTH} levels deep`);
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
  return v as Obj;
}

/** A time as RFC 3339 text or unix seconds; returns epoch ms. */
export function optTime(o: Obj, key: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return Math.round(v * 1000);
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    if (Number.isFinite(ms)) return ms < 0 ? undefined : ms; // Go's zero time means unset
  }
  throw badRequest(`${key} must be an RFC 3339 time or unix seconds`);
}

function queryInt(q: URLSearchParams, key: string, fallback: number, min: number, max: number): number {
  const v = q.get(key);
  if (v === null || v === '') return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw badRequest(`${key} must be a whole number from ${min} to ${max}`);
  return Number(v);
}

export const MAX_PAGE = 1000;

export function pageOf(q: URLSearchParams): Page {
  // OFFSET walks every skipped row: page 1,000,000 cost a scan of the whole table per request.
  return { page: queryInt(q, 'page', 0, 0, MAX_PAGE), perPage: queryInt(q, 'per_page', 30, 1, 100) };
}

/** Unix seconds in a query (from_time, start_date) as epoch ms. */
export function queryUnix(q: URLSearchParams, key: string): number | undefined {
  const v = q.get(key);
  if (v === null || v === '') return undefined;
  if (!/^\d+(\.\d+)?$/.test(v)) throw badRequest(`${key} must be unix seconds`);
  return Math.round(Number(v) * 1000);
}
