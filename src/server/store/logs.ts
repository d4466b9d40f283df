// Task logs as append-only files (one per task) so a 100 MiB log is streamed, never held in memory.
// Appends are offset-checked: a repeated chunk is acknowledged without writing, a gap is refused
// with the current size so the runner can resync. Appends to one task are serialised; a chunk that
// overtook an earlier one still in transit waits for it (log-order.ts) instead of being refused.
// Offsets count from the start of the current reservation's output: a task that runs again after
// its runner was lost keeps the earlier attempt's output, followed by a separator line, and the new
// attempt's bytes are never mistaken for (and dropped as) repeats of the old ones.
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { IronError } from '../../errors.js';
import { isObjectId } from '../../ids.js';
import { OpenLogs, type OpenLog } from './log-handles.js';
import { AppendOrder, type OrderLimits, type WaitBudget } from './log-order.js';

/**
 * `size`: bytes of this reservation's output; `total`: the whole log file; `capped`: the file reached
 * the cap and part or all of this chunk was dropped.
 */
export type AppendResult = { readonly ok: boolean; readonly size: number; readonly total: number; readonly capped?: boolean };

export interface Writer {
  readonly reservationId: string;
  readonly attempt: number;
}

export class LogFiles {
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly dir: string;
  private readonly order: AppendOrder;
  private readonly handles = new OpenLogs();

  /** `maxBytes`: the cap of one task's log file (all attempts); bytes past it are dropped. */
  constructor(
    dataDir: string,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
    limits?: OrderLimits,
  ) {
    this.dir = join(dataDir, 'logs');
    this.order = new AppendOrder(limits);
  }

  /**
   * Marks a log request of the task as in progress, from before its body is read until the returned
   * release is called: a chunk that arrives ahead of the stored size waits only while one is.
   */
  enter(taskId: string): () => void {
    return this.order.enter(taskId);
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  private path(taskId: string): string {
    // Ids are validated 24-hex strings before they get here; the check keeps paths inside the dir.
    if (!isObjectId(taskId)) throw new IronError('ERR_INVALID_ARGUMENT', 'bad task id');
    return join(this.dir, `${taskId}.log`);
  }

  /** Size in bytes, or undefined when no chunk was ever written. */
  async size(taskId: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(taskId))).size;
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /**
   * Appends the chunk `parts` (the request body as received: writing the parts saves joining them into
   * one buffer per chunk) at `offset` of the writer's output.
   */
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

  private async appendNow(taskId: string, writer: Writer, offset: number, chunk: Chunk): Promise<AppendResult> {
    const h = await this.handles.acquire(taskId, this.path(taskId));
    let ok = false;
    try {
      const base = await this.baseFor(taskId, writer, h);
      const total = h.total;
      const size = total - base;
      let res: AppendResult;
      if (offset > size) res = { ok: false, size, total };
      // Everything in this chunk is already stored: a retried delivery.
      else if (size - offset >= chunk.length) res = { ok: true, size, total };
      else {
        const fresh = chunk.from(size - offset);
        const room = Math.max(0, this.maxBytes - total);
        const want = chunk.length - (size - offset);
        const take = Math.min(want, room);
        if (take > 0) {
          await writeAll(h.fh, take === want ? fresh : dropTail(fresh, take));
          h.total = total + take;
          await h.fh.datasync();
        }
        res = { ok: true, size: size + take, total: h.total, ...(take < want ? { capped: true } : {}) };
      }
      ok = true;
      return res;
    } finally {
      this.handles.release(taskId, h, ok);
    }
  }

  /** Where the writer's output starts in the file; the first append of a new reservation sets it. */
  private async baseFor(taskId: string, writer: Writer, h: OpenLog): Promise<number> {
    if (h.writer === writer.reservationId) return h.base;
    const marker = join(this.dir, `${taskId}.writer`);
    try {
      const m = JSON.parse(await readFile(marker, 'utf8')) as { reservation_id?: unknown; base?: unknown };
      if (m.reservation_id === writer.reservationId && typeof m.base === 'number') return this.remember(h, writer, m.base);
    } catch {
      // no marker yet, or a torn one: this is a new writer
    }
    const total = h.total;
    let base = total;
    if (total > 0) {
      const last = Buffer.alloc(1);
      await h.fh.read(last, 0, 1, total - 1);
      const sep = Buffer.from(`${last[0] === 0x0a ? '' : '\n'}--- iron: attempt ${writer.attempt} starts here (output above is from an earlier attempt) ---\n`);
      await writeAll(h.fh, [sep]);
      h.total = total + sep.length;
      await h.fh.datasync();
      base = h.total;
    }
    const tmp = `${marker}.tmp`;
    await writeFile(tmp, JSON.stringify({ reservation_id: writer.reservationId, base }), { mode: 0o600 });
    await rename(tmp, marker);
    return this.remember(h, writer, base);
  }

  private remember(h: OpenLog, writer: Writer, base: number): number {
    h.writer = writer.reservationId;
    h.base = base;
    return base;
  }

  /** The first `size` bytes (what existed when the caller sized the response). */
  stream(taskId: string, size: number): ReadStream {
    return createReadStream(this.path(taskId), { start: 0, end: Math.max(0, size - 1) });
  }
}

/** A chunk as the list of buffers it arrived in. */
class Chunk {
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
function dropTail(parts: readonly Buffer[], keep: number): Buffer[] {
  const out: Buffer[] = [];
  let left = keep;
  for (const p of parts) {
    if (left <= 0) break;
    out.push(p.length <= left ? p : p.subarray(0, left));
    left -= p.length;
  }
  return out;
}

function dropBytes(parts: readonly Buffer[], skip: number): Buffer[] {
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

/** The file is opened for appending: every write lands at its end. */
async function writeAll(fh: FileHandle, parts: readonly Buffer[]): Promise<void> {
  let rest = parts.filter((p) => p.length > 0);
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest);
    if (bytesWritten === 0) throw new IronError('ERR_STORE', 'log write made no progress');
    rest = dropBytes(rest, bytesWritten);
  }
}
