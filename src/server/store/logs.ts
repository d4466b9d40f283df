// Task logs as append-only files (one per task) so a 100 MiB log is streamed, never held in memory.
// Appends are offset-checked: a repeated chunk is acknowledged without writing, a gap is refused
// with the current size so the runner can resync. Appends to one task are serialised.
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { IronError } from '../../errors.js';

export type AppendResult = { readonly ok: true; readonly size: number } | { readonly ok: false; readonly size: number };

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

  append(taskId: string, offset: number, chunk: Buffer): Promise<AppendResult> {
    const prev = this.chains.get(taskId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.appendNow(taskId, offset, chunk));
    this.chains.set(taskId, next);
    void next.finally(() => {
      if (this.chains.get(taskId) === next) this.chains.delete(taskId);
    }).catch(() => undefined);
    return next;
  }

  private async appendNow(taskId: string, offset: number, chunk: Buffer): Promise<AppendResult> {
    const fh = await open(this.path(taskId), 'a+');
    try {
      const size = (await fh.stat()).size;
      if (offset > size) return { ok: false, size };
      const skip = size - offset;
      // Everything in this chunk is already stored: a retried delivery.
      if (skip >= chunk.length) return { ok: true, size };
      await fh.write(chunk, skip, chunk.length - skip);
      await fh.datasync();
      return { ok: true, size: offset + chunk.length };
    } finally {
      await fh.close();
    }
  }

  /** The first `size` bytes (what existed when the caller sized the response). */
  stream(taskId: string, size: number): ReadStream {
    return createReadStream(this.path(taskId), { start: 0, end: Math.max(0, size - 1) });
  }
}
