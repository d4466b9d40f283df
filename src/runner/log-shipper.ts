// Ships one task's output to the API by byte offset. Output is appended to a spool file under the
// state dir first, so memory stays bounded whatever the job prints and an API outage only grows the
// spool; a single sender posts chunks of at most 1 MiB every ~250 ms. Appends are idempotent on the
// server, and a 409 carries the server's size, so a lost response or a resend never duplicates bytes.
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { conflictSize, type RetryPolicy, type RunnerApi } from '../api/index.js';
import { abortError, isIronError, toError } from '../errors.js';
import type { Logger } from '../log.js';

export interface LogShipperOptions {
  api: RunnerApi;
  taskId: string;
  /** Sent with every append so the API refuses output from a superseded reservation. */
  reservationId: string;
  spoolDir: string;
  log: Logger;
  flushIntervalMs?: number;
  maxChunkBytes?: number;
  retry: RetryPolicy;
  /** Counts shipped bytes (metrics). */
  onShipped?: (bytes: number) => void;
}

export class LogShipper {
  private fh: FileHandle | undefined;
  private readonly file: string;
  private written = 0;
  private shipped = 0;
  private closing = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private failure: unknown;
  private readonly ctl = new AbortController();
  private readonly flushMs: number;
  private readonly maxChunk: number;
  /** One read buffer per shipper: a chunk's request completes before the next read reuses it. */
  private buf: Buffer | undefined;

  constructor(private readonly o: LogShipperOptions) {
    this.file = path.join(o.spoolDir, `${o.taskId}.log`);
    this.flushMs = o.flushIntervalMs ?? 250;
    this.maxChunk = o.maxChunkBytes ?? 1024 * 1024;
  }

  async open(): Promise<void> {
    await mkdir(this.o.spoolDir, { recursive: true, mode: 0o700 });
    this.fh = await open(this.file, 'w+', 0o600);
    // Held until close(): a permanent failure (task gone, token revoked) is reported there.
    this.loop = this.run().catch((err: unknown) => {
      this.failure = err;
    });
  }

  /** Appends output; resolves once it is on disk (back-pressure for the container's stream). */
  async write(chunk: Buffer): Promise<void> {
    if (this.fh === undefined || this.closing || this.failure !== undefined || chunk.length === 0) return;
    await this.fh.write(chunk, 0, chunk.length, this.written);
    this.written += chunk.length;
    if (this.written - this.shipped >= this.maxChunk) this.kick();
  }

  /** Ships everything written so far; resolves with the log size the server holds. */
  async close(signal: AbortSignal): Promise<number> {
    this.closing = true;
    const onAbort = (): void => this.ctl.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      this.kick();
      await this.loop;
      if (this.failure !== undefined) throw toError(this.failure);
      if (this.ctl.signal.aborted) throw abortError(this.ctl.signal);
      return this.shipped;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Stops shipping at once (the task was lost) and removes the spool. Idempotent. */
  async dispose(): Promise<void> {
    this.closing = true;
    this.ctl.abort(new Error('disposed'));
    this.kick();
    await this.loop?.catch(() => undefined);
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    await rm(this.file, { force: true });
  }

  get bytesWritten(): number {
    return this.written;
  }

  private kick(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    const signal = this.ctl.signal;
    for (;;) {
      if (!this.closing && this.written - this.shipped < this.maxChunk) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.flushMs);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
      }
      if (signal.aborted) return;
      while (this.shipped < this.written && !signal.aborted) {
        await this.sendOne(signal);
      }
      if (this.closing && this.shipped >= this.written) return;
    }
  }

  private async sendOne(signal: AbortSignal): Promise<void> {
    const fh = this.fh;
    if (fh === undefined) return;
    const len = Math.min(this.maxChunk, this.written - this.shipped);
    this.buf ??= Buffer.allocUnsafe(this.maxChunk);
    const buf = this.buf;
    const { bytesRead } = await fh.read(buf, 0, len, this.shipped);
    try {
      const res = await this.o.api.appendLog(this.o.taskId, this.shipped, buf.subarray(0, bytesRead), signal, {
        retry: this.o.retry, reservationId: this.o.reservationId,
      });
      this.o.onShipped?.(bytesRead);
      this.shipped = Math.min(Math.max(res.size, this.shipped + bytesRead), this.written);
    } catch (err) {
      const size = conflictSize(err);
      if (size !== undefined && size !== this.shipped) {
        // The server holds a different amount (an earlier answer was lost, or it restarted): resync.
        this.o.log.debug({ server_size: size, local_offset: this.shipped }, 'log offset resync');
        this.shipped = Math.min(size, this.written);
        return;
      }
      if (signal.aborted || isIronError(err, 'ERR_ABORTED')) return;
      throw err;
    }
  }
}
