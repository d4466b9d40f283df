// The engine's long streams (attach, wait, events, pull): how one is opened (a deadline up to its
// response headers only, then the liveness probe watches it: a job may run for an hour) and how the
// streamed bodies are read (wait's status, the event log's actions, the pull's progress and errors).
import type { Readable } from 'node:stream';
import { abortError, toError } from '../errors.js';
import type { UsageSample } from './engine.js';
import { call, deadlineError } from './engine-errors.js';
import type { EngineLiveness } from './engine-liveness.js';

export async function openStream<T extends Readable>(op: string, signal: AbortSignal, deadlineMs: number, liveness: EngineLiveness, open: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const headers = new AbortController();
  const timer = setTimeout(() => headers.abort(), deadlineMs);
  try {
    const s = await call(op, signal, () => open(AbortSignal.any([signal, headers.signal])));
    liveness.watch(s);
    return s;
  } catch (err) {
    if (!signal.aborted && headers.signal.aborted) throw deadlineError(op, deadlineMs, err);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The wait response's body: the engine answers 200 at once and the body when the container stops. A
 * connection closed before its end is the engine's loss (dockerode's own wait would never settle).
 */
export function readWaitStatus(body: Readable, signal: AbortSignal): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const parts: Buffer[] = [];
    let ended = false;
    body.on('data', (c: Buffer) => parts.push(c));
    body.on('end', () => {
      ended = true;
      try {
        const r = JSON.parse(Buffer.concat(parts).toString('utf8')) as { StatusCode?: number };
        resolve(typeof r.StatusCode === 'number' ? r.StatusCode : -1);
      } catch (parseErr) {
        reject(toError(parseErr));
      }
    });
    body.on('error', reject);
    body.on('close', () => {
      if (ended) return;
      reject(signal.aborted ? abortError(signal) : Object.assign(new Error('the engine closed the connection before the container stopped'), { code: 'ECONNRESET' }));
    });
  });
}

/** The `Action` of every event in a bounded (since/until) event stream. */
export async function readEventActions(stream: Readable): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks)
    .toString()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { Action?: string }).Action ?? '');
}

/** Reads the pull's NDJSON progress to the end; a registry error arrives as {"error": ...} mid-stream. */
export async function readPullProgress(stream: Readable): Promise<void> {
  let rest = '';
  let failure: string | undefined;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    rest += chunk.toString('utf8');
    let nl = rest.indexOf('\n');
    while (nl >= 0) {
      failure ??= pullError(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
      nl = rest.indexOf('\n');
    }
  }
  failure ??= pullError(rest);
  if (failure !== undefined) {
    throw Object.assign(new Error(failure), { statusCode: 500, json: { message: failure } });
  }
}

function pullError(line: string): string | undefined {
  if (line.trim() === '') return undefined;
  try {
    const m = JSON.parse(line) as { error?: unknown; errorDetail?: { message?: unknown } };
    if (typeof m.error === 'string') return m.error;
    if (typeof m.errorDetail?.message === 'string') return m.errorDetail.message;
  } catch {
    // A progress line we cannot parse is not a failure of the pull.
  }
  return undefined;
}

/**
 * The stats stream's NDJSON samples, each passed on as it arrives. The engine sends one at once and
 * then one a second; after the container stopped it sends empty ones (zero time and counters), which
 * are skipped. A line that does not parse is skipped too: usage is informational.
 */
export async function readStatsSamples(stream: Readable, onSample: (s: UsageSample) => void): Promise<void> {
  let rest = '';
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      rest += chunk.toString('utf8');
      let nl = rest.indexOf('\n');
      while (nl >= 0) {
        const sample = statsSample(rest.slice(0, nl));
        if (sample !== undefined) onSample(sample);
        rest = rest.slice(nl + 1);
        nl = rest.indexOf('\n');
      }
    }
  } catch {
    // The stream was cut (the container stopped, or the signal): the samples so far stand.
  }
}

function statsSample(line: string): UsageSample | undefined {
  if (line.trim() === '') return undefined;
  try {
    const s = JSON.parse(line) as { read?: unknown; memory_stats?: { usage?: unknown; max_usage?: unknown }; cpu_stats?: { cpu_usage?: { total_usage?: unknown } } };
    if (typeof s.read !== 'string' || s.read.startsWith('0001-')) return undefined;
    const usage = typeof s.memory_stats?.usage === 'number' ? s.memory_stats.usage : 0;
    const max = typeof s.memory_stats?.max_usage === 'number' ? s.memory_stats.max_usage : 0;
    const cpu = s.cpu_stats?.cpu_usage?.total_usage;
    return { memoryBytes: Math.max(usage, max), cpuNanos: typeof cpu === 'number' ? cpu : 0 };
  } catch {
    return undefined;
  }
}
