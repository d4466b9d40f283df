// The storage-independent half of task log appends (both log stores use it): appends to one task
// are serialised in this process, and a chunk that overtook an earlier one still in transit waits
// for it (log-order.ts) instead of being refused. Each store supplies the offset-checked write of one
// chunk (appendNow): a repeated chunk is acknowledged without writing, a gap is refused with the
// current size so the runner can resync, bytes past the cap are dropped.
import type { Readable } from 'node:stream';
import { AppendOrder, type OrderLimits, type WaitBudget } from './log-order.js';

/**
 * `size`: bytes of this reservation's output; `total`: the whole log; `capped`: the log reached
 * the cap and part or all of this chunk was dropped.
 */
export type AppendResult = { readonly ok: boolean; readonly size: number; readonly total: number; readonly capped?: boolean };

export interface Writer {
  readonly reservationId: string;
  readonly attempt: number;
}

/** Task logs, whichever store keeps them (files in the data dir, or PostgreSQL rows). */
export interface LogStore {
  /** Marks a log request of the task as in progress until the returned release is called. */
  enter(taskId: string): () => void;
  init(): Promise<void>;
  /** Size in bytes, or undefined when no chunk was ever written. */
  size(taskId: string): Promise<number | undefined>;
  /** Appends the chunk `parts` at `offset` of the writer's output. */
  append(taskId: string, writer: Writer, offset: number, parts: readonly Buffer[]): Promise<AppendResult>;
  /** The first `size` bytes (what existed when the caller sized the response). */
  stream(taskId: string, size: number): Readable;
  /** Removes the logs of these (finished, expired) tasks. */
  remove(taskIds: readonly string[]): Promise<void>;
}

/** The separator a new attempt's output starts with, after an earlier attempt's (lastByte: the log's last byte). */
export function attemptSeparator(lastByte: number | undefined, attempt: number): Buffer {
  return Buffer.from(`${lastByte === 0x0a ? '' : '\n'}--- iron: attempt ${attempt} starts here (output above is from an earlier attempt) ---\n`);
}

export type AppendNow = (taskId: string, writer: Writer, offset: number, chunk: Chunk) => Promise<AppendResult>;

export class OrderedAppends {
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly order: AppendOrder;

  constructor(
    private readonly appendNow: AppendNow,
    limits?: OrderLimits,
  ) {
    this.order = new AppendOrder(limits);
  }

  enter(taskId: string): () => void {
    return this.order.enter(taskId);
  }

  async append(taskId: string, writer: Writer, offset: number, parts: readonly Buffer[]): Promise<AppendResult> {
    const chunk = new Chunk(parts);
    let budget: WaitBudget | undefined;
    for (;;) {
      const res = await this.serialised(taskId, writer, offset, chunk);
      if (res.ok) {
        this.order.progressed(taskId);
        return res;
      }
      budget ??= this.order.budget();
      if (!(await this.order.waitForGap(taskId, chunk.length, budget))) return res;
    }
  }

  private serialised(taskId: string, writer: Writer, offset: number, chunk: Chunk): Promise<AppendResult> {
    const prev = this.chains.get(taskId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.appendNow(taskId, writer, offset, chunk));
    this.chains.set(taskId, next);
    void next
      .finally(() => {
        if (this.chains.get(taskId) === next) this.chains.delete(taskId);
      })
      .catch(() => undefined);
    return next;
  }
}

/** What of a chunk at `offset` is new for a log whose writer has `size` bytes: skip, take, and whether the cap cut it. */
export function plan(chunk: Chunk, offset: number, size: number, total: number, maxBytes: number): { gap: boolean; skip: number; take: number; want: number } {
  if (offset > size) return { gap: true, skip: 0, take: 0, want: 0 };
  const skip = size - offset;
  if (skip >= chunk.length) return { gap: false, skip, take: 0, want: 0 };
  const want = chunk.length - skip;
  return { gap: false, skip, take: Math.min(want, Math.max(0, maxBytes - total)), want };
}

/** A chunk as the list of buffers it arrived in. */
export class Chunk {
  readonly length: number;

  constructor(readonly parts: readonly Buffer[]) {
    this.length = parts.reduce((n, p) => n + p.length, 0);
  }

  /** The parts from byte `skip` on (a resent chunk that overlaps what is stored). */
  from(skip: number): Buffer[] {
    return dropBytes(this.parts, skip);
  }
}

/** The first `keep` bytes of the parts. */
export function dropTail(parts: readonly Buffer[], keep: number): Buffer[] {
  const out: Buffer[] = [];
  let left = keep;
  for (const p of parts) {
    if (left <= 0) break;
    out.push(p.length <= left ? p : p.subarray(0, left));
    left -= p.length;
  }
  return out;
}

export function dropBytes(parts: readonly Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  let left = skip;
  for (const p of parts) {
    if (left >= p.length) {
      left -= p.length;
      continue;
    }
    out.push(left === 0 ? p : p.subarray(left));
    left = 0;
  }
  return out;
}
