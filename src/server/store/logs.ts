// Task logs as append-only files (one per task) so a 100 MiB log is streamed, never held in memory:
// the log store of the SQLite install. Ordering and serialisation of appends are log-appends.ts;
// this file writes one offset-checked chunk. Offsets count from the start of the current
// reservation's output: a task that runs again after its runner was lost keeps the earlier
// attempt's output, followed by a separator line, and the new attempt's bytes are never mistaken
// for (and dropped as) repeats of the old ones.
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { IronError } from '../../errors.js';
import { isObjectId } from '../../ids.js';
import { OpenLogs, type OpenLog } from './log-handles.js';
import { attemptSeparator, dropBytes, dropTail, OrderedAppends, plan, type AppendResult, type Chunk, type LogStore, type Writer } from './log-appends.js';
import type { OrderLimits } from './log-order.js';

export type { AppendResult, Writer } from './log-appends.js';

export class LogFiles implements LogStore {
  private readonly dir: string;
  private readonly appends: OrderedAppends;
  private readonly handles = new OpenLogs();

  /** `maxBytes`: the cap of one task's log file (all attempts); bytes past it are dropped. */
  constructor(
    dataDir: string,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
    limits?: OrderLimits,
  ) {
    this.dir = join(dataDir, 'logs');
    this.appends = new OrderedAppends((taskId, writer, offset, chunk) => this.appendNow(taskId, writer, offset, chunk), limits);
  }

  /**
   * Marks a log request of the task as in progress, from before its body is read until the returned
   * release is called: a chunk that arrives ahead of the stored size waits only while one is.
   */
  enter(taskId: string): () => void {
    return this.appends.enter(taskId);
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
  append(taskId: string, writer: Writer, offset: number, parts: readonly Buffer[]): Promise<AppendResult> {
    return this.appends.append(taskId, writer, offset, parts);
  }

  private async appendNow(taskId: string, writer: Writer, offset: number, chunk: Chunk): Promise<AppendResult> {
    const h = await this.handles.acquire(taskId, this.path(taskId));
    let ok = false;
    try {
      const base = await this.baseFor(taskId, writer, h);
      const total = h.total;
      const size = total - base;
      const p = plan(chunk, offset, size, total, this.maxBytes);
      let res: AppendResult;
      if (p.gap) res = { ok: false, size, total };
      // Everything in this chunk is already stored: a retried delivery.
      else if (p.want === 0) res = { ok: true, size, total };
      else {
        if (p.take > 0) {
          const fresh = chunk.from(p.skip);
          await writeAll(h.fh, p.take === p.want ? fresh : dropTail(fresh, p.take));
          h.total = total + p.take;
          await h.fh.datasync();
        }
        res = { ok: true, size: size + p.take, total: h.total, ...(p.take < p.want ? { capped: true } : {}) };
      }
      ok = true;
      return res;
    } finally {
      this.handles.release(taskId, h, ok);
    }
  }

  /**
   * Where the writer's output starts in the file; the first append of a new reservation sets it.
   * Every reservation of a task has its own attempt number (reserving counts it up), and the first
   * attempt's output starts at 0: its writer leaves no marker file (creating one was three file
   * operations and a rename per task, issue 17). Every other writer that finds the log empty or
   * another's bytes records itself in the marker, so a log without a marker holds attempt 1's bytes.
   */
  private async baseFor(taskId: string, writer: Writer, h: OpenLog): Promise<number> {
    if (h.writer === writer.reservationId) return h.base;
    const total = h.total;
    if (total === 0) {
      if (writer.attempt !== 1) await this.writeMarker(taskId, writer, 0);
      return this.remember(h, writer, 0);
    }
    let marked = false;
    try {
      const m = JSON.parse(await readFile(this.marker(taskId), 'utf8')) as { reservation_id?: unknown; base?: unknown };
      if (m.reservation_id === writer.reservationId && typeof m.base === 'number') return this.remember(h, writer, m.base);
      marked = true;
    } catch {
      // no marker: the bytes are attempt 1's (a torn one cannot happen: it is renamed into place)
    }
    if (!marked && writer.attempt === 1) return this.remember(h, writer, 0);
    const last = Buffer.alloc(1);
    await h.fh.read(last, 0, 1, total - 1);
    const sep = attemptSeparator(last[0], writer.attempt);
    await writeAll(h.fh, [sep]);
    h.total = total + sep.length;
    await h.fh.datasync();
    await this.writeMarker(taskId, writer, h.total);
    return this.remember(h, writer, h.total);
  }

  private marker(taskId: string): string {
    return join(this.dir, `${taskId}.writer`);
  }

  private async writeMarker(taskId: string, writer: Writer, base: number): Promise<void> {
    const marker = this.marker(taskId);
    const tmp = `${marker}.tmp`;
    await writeFile(tmp, JSON.stringify({ reservation_id: writer.reservationId, base }), { mode: 0o600 });
    await rename(tmp, marker);
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

  async remove(taskIds: readonly string[]): Promise<void> {
    for (const id of taskIds) {
      await rm(this.path(id), { force: true });
      await rm(this.marker(id), { force: true });
    }
  }
}

/** The file is opened for appending: every write lands at its end. */
export async function writeAll(fh: FileHandle, parts: readonly Buffer[]): Promise<void> {
  let rest = parts.filter((p) => p.length > 0);
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest);
    if (bytesWritten === 0) throw new IronError('ERR_STORE', 'log write made no progress');
    rest = dropBytes(rest, bytesWritten);
  }
}
