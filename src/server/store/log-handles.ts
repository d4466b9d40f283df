// Open task log files kept between appends. A runner ships a task's output in 1 MiB chunks; opening
// the file, reading the writer marker, two fstat calls and a close around every chunk were eight
// thread-pool round trips next to the two that matter (write, fdatasync), and appends to one task are
// serialised, so they set its pace. A handle, the file's size and the current writer stay here while
// appends keep coming and are closed after a short idle time; the number kept is capped. Only the
// caller's per-task append chain uses a handle, and this process is the only writer of its files, so
// the cached size stays exact; after any failed operation the handle is dropped and read afresh.
import { open, type FileHandle } from 'node:fs/promises';

export interface OpenLog {
  readonly fh: FileHandle;
  /** Bytes in the file. */
  total: number;
  /** The reservation whose output starts at `base`, once known (see LogFiles.baseFor). */
  writer: string | undefined;
  base: number;
  idle: NodeJS.Timeout | undefined;
}

const IDLE_MS = 2_000;
const MAX_OPEN = 256;

export class OpenLogs {
  private readonly open = new Map<string, OpenLog>();

  /** The task's open log; the caller must release() it before the next acquire of the same task. */
  async acquire(taskId: string, file: string): Promise<OpenLog> {
    const kept = this.open.get(taskId);
    if (kept !== undefined) {
      clearTimeout(kept.idle);
      kept.idle = undefined;
      return kept;
    }
    const fh = await open(file, 'a+', 0o600);
    try {
      const h: OpenLog = { fh, total: (await fh.stat()).size, writer: undefined, base: 0, idle: undefined };
      this.open.set(taskId, h);
      return h;
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  /** Keeps the handle for the next append, or closes it when `ok` is false (its state is unknown). */
  release(taskId: string, h: OpenLog, ok: boolean): void {
    if (!ok || this.open.size > MAX_OPEN) {
      this.drop(taskId, h);
      return;
    }
    h.idle = setTimeout(() => this.drop(taskId, h), IDLE_MS);
    h.idle.unref();
  }

  private drop(taskId: string, h: OpenLog): void {
    clearTimeout(h.idle);
    if (this.open.get(taskId) === h) this.open.delete(taskId);
    void h.fh.close().catch(() => undefined);
  }
}
