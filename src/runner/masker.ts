// Masks the values of secret-looking env_vars in a job's output before it reaches the task log.
// Output arrives in arbitrary chunks, so a secret may be split across them: the masker holds back
// only the shortest tail that could still be the start of a secret, and emits everything else at once.
import { ByteAutomaton } from './aho-corasick.js';

const SECRET_NAME = /PASS(WORD|WD)?|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|AUTH/i;
/** Shorter values would mask ordinary words all over the log. */
const MIN_SECRET_LENGTH = 4;
export const MASK = Buffer.from('***');

/** The values worth masking: those of env vars whose names look secret, and their common encodings. */
export function secretValues(env: Readonly<Record<string, string>>): string[] {
  const out = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (!SECRET_NAME.test(name) || value.length < MIN_SECRET_LENGTH) continue;
    out.add(value);
    // A job that prints its config as JSON or base64 shows the value in these forms.
    const json = JSON.stringify(value).slice(1, -1);
    if (json !== value) out.add(json);
    out.add(Buffer.from(value).toString('base64').replace(/=+$/, ''));
    for (const line of value.split('\n')) if (line.trim().length >= MIN_SECRET_LENGTH && line !== value) out.add(line.trim());
  }
  return [...out];
}

interface Span {
  start: number;
  end: number;
  /** The continuation of a span whose mask was already emitted: its bytes are dropped, no second mask. */
  continued: boolean;
}

/**
 * Streaming masker, linear in the output (issue 13 item 5: the old one searched every secret from
 * every held-back position, quadratic in the secrets' length). Every byte that belongs to any
 * occurrence of any secret is masked; overlapping occurrences become one mask. The automaton's state
 * carries over between chunks, and only the bytes that could still start a secret (the state's depth,
 * less than the longest secret) are held back: a bounded window, however the output is chunked.
 * Positions below are absolute byte offsets in the task's output.
 */
export class SecretMasker {
  private readonly ac: ByteAutomaton;
  private state = 0;
  private pos = 0;
  private emitted = 0;
  /** Bytes [emitted, pos) as the chunks they arrived in; `held[head]` starts at `heldStart`. */
  private held: Buffer[] = [];
  private head = 0;
  private heldStart = 0;
  /** Masked spans not yet emitted, disjoint and in order. */
  private spans: Span[] = [];
  /** End of the last span whose mask was emitted (an overlapping match extends it silently). */
  private openEnd = -1;

  constructor(values: readonly string[]) {
    this.ac = new ByteAutomaton(values.map((v) => Buffer.from(v)));
  }

  get active(): boolean {
    return this.ac.patterns > 0;
  }

  /** Bytes safe to emit now. */
  push(chunk: Buffer): Buffer {
    if (!this.active) return chunk;
    const ac = this.ac;
    const base = this.pos;
    const state = ac.scan(chunk, this.state, (end, length) => this.addSpan(base + end - length, base + end));
    this.state = state;
    this.pos += chunk.length;
    if (chunk.length > 0) this.held.push(chunk);
    return this.emit(this.pos - ac.depth(state));
  }

  /** Everything still held back (end of output). */
  flush(): Buffer {
    if (!this.active) return Buffer.alloc(0);
    const out = this.emit(this.pos);
    this.state = 0;
    this.openEnd = -1;
    return out;
  }

  private addSpan(start: number, end: number): void {
    if (start < this.openEnd) {
      // Overlaps the span already emitted as a mask (then emitted === openEnd): the rest of this
      // match is dropped with it. Every pending span ends before `end`, so all are covered.
      if (end <= this.openEnd) return;
      this.spans = [{ start: this.openEnd, end, continued: true }];
      return;
    }
    // Matches arrive in order of their end: pending spans that start at or after `start` are covered.
    while (this.spans.length > 0 && (this.spans[this.spans.length - 1]?.start ?? -1) >= start) this.spans.pop();
    const last = this.spans[this.spans.length - 1];
    if (last !== undefined && last.end > start) last.end = end;
    else this.spans.push({ start, end, continued: false });
  }

  /** Emits the output up to `safe` (no later match can start before it). */
  private emit(safe: number): Buffer {
    const parts: Buffer[] = [];
    const reader = this.reader();
    let cursor = this.emitted;
    let done = 0;
    for (const span of this.spans) {
      if (span.start >= safe) break;
      // A span that reaches past `safe` is emitted whole: a later match can only extend it.
      if (span.start > cursor) reader(cursor, span.start, parts);
      if (!span.continued) parts.push(MASK);
      cursor = span.end;
      this.openEnd = span.end;
      done++;
    }
    if (done > 0) this.spans.splice(0, done);
    if (cursor < safe) {
      reader(cursor, safe, parts);
      cursor = safe;
    }
    this.emitted = cursor;
    this.dropBefore(cursor);
    return parts.length === 1 ? (parts[0] ?? Buffer.alloc(0)) : Buffer.concat(parts);
  }

  /** Copies held ranges in increasing order, walking the held chunks once per emit. */
  private reader(): (from: number, to: number, out: Buffer[]) => void {
    let i = this.head;
    let offset = this.heldStart;
    return (from, to, out) => {
      while (i < this.held.length) {
        const c = this.held[i] ?? Buffer.alloc(0);
        const cEnd = offset + c.length;
        if (cEnd > from && offset < to) out.push(c.subarray(Math.max(0, from - offset), Math.min(c.length, to - offset)));
        if (cEnd > to) return;
        offset = cEnd;
        i++;
      }
    };
  }

  private dropBefore(at: number): void {
    while (this.head < this.held.length && this.heldStart + (this.held[this.head]?.length ?? 0) <= at) {
      this.heldStart += this.held[this.head]?.length ?? 0;
      this.head++;
    }
    // Compact now and then, never per chunk (many one-byte chunks would make that quadratic).
    if (this.head > 64 && this.head * 2 > this.held.length) {
      this.held = this.held.slice(this.head);
      this.head = 0;
    }
  }
}
