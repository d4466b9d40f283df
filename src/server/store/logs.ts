// Task logs as append-only files (one per task) so a 100 MiB log is streamed, never held in memory.
// Appends are offset-checked: a repeated chunk is acknowledged without writing, a gap is refused
// with the current size so the runner can resync. Appends to one task are serialised.
// Offsets count from the start of the current reservation's output: a task that runs again after
// its runner was lost keeps the earlier attempt's output, followed by a separator line, and the new
// attempt's bytes are never mistaken for (and dropped as) repeats of the old ones.
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { IronError } from '../../errors.js';

/** `size`: bytes of this reservation's output; `total`: the whole log file. */
export type AppendResult = { readonly ok: boolean; readonly size: number; readonly total: number };

export interface Writer {
  readonly reservationId: string;
  readonly attempt: number;
}

export class LogFiles {
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'logs');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  private path(taskId: string): string {
    // Ids are validated 24-hex strings before they get here; the check keeps paths inside the dir.
    if (!/^[0-9a-f]{24}$/.test(taskId)) throw new IronError('ERR_INVALID_ARGUMENT', 'bad task id');
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

  append(taskId: string, writer: Writer, offset: number, chunk: Buffer): Promise<AppendResult> {
    const prev = this.chains.get(taskId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.appendNow(taskId, writer, offset, chunk));
    this.chains.set(taskId, next);
    void next.finally(() => {
      if (this.chains.get(taskId) === next) this.chains.delete(taskId);
    }).catch(() => undefined);
    return next;
  }

  private async appendNow(taskId: string, writer: Writer, offset: number, chunk: Buffer): Promise<AppendResult> {
    const fh = await open(this.path(taskId), 'a+');
    try {
      const base = await this.baseFor(taskId, writer, fh);
      const total = (await fh.stat()).size;
      const size = total - base;
      if (offset > size) return { ok: false, size, total };
      const skip = size - offset;
      // Everything in this chunk is already stored: a retried delivery.
      if (skip >= chunk.length) return { ok: true, size, total };
      await fh.write(chunk, skip, chunk.length - skip);
      await fh.datasync();
      return { ok: true, size: offset + chunk.length, total: base + offset + chunk.length };
    } finally {
      await fh.close();
    }
  }

  /** Where the writer's output starts in the file; the first append of a new reservation sets it. */
  private async baseFor(taskId: string, writer: Writer, fh: FileHandle): Promise<number> {
    const marker = join(this.dir, `${taskId}.writer`);
    try {
      const m = JSON.parse(await readFile(marker, 'utf8')) as { reservation_id?: unknown; base?: unknown };
      if (m.reservation_id === writer.reservationId && typeof m.base === 'number') return m.base;
    } catch {
      // no marker yet, or a torn one: this is a new writer
    }
    const total = (await fh.stat()).size;
    let base = total;
    if (total > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, total - 1);
      const sep = Buffer.from(`${last[0] === 0x0a ? '' : '\n'}--- iron: attempt ${writer.attempt} starts here (output above is from an earlier attempt) ---\n`);
      await fh.write(sep);
      await fh.datasync();
      base = total + sep.length;
    }
    const tmp = `${marker}.tmp`;
    await writeFile(tmp, JSON.stringify({ reservation_id: writer.reservationId, base }));
    await rename(tmp, marker);
    return base;
  }

  /** The first `size` bytes (what existed when the caller sized the response). */
  stream(taskId: string, size: number): ReadStream {
    return createReadStream(this.path(taskId), { start: 0, end: Math.max(0, size - 1) });
  }
}
