// Ships one task's output to the API by byte offset. Output goes to a spool file first (log-spool.ts),
// so memory stays bounded whatever the job prints and an API outage only grows the spool. Chunks of at
// most 1 MiB are posted with up to `maxInFlight` requests at once: one at a time, each chunk's round
// trip (send, the API's write and fsync, the answer) left both ends idle in turn and capped shipping
// near 45 MiB/s, below what a job can print. The API applies a chunk that overtook an earlier one once
// the earlier one lands. Appends are idempotent on the server and a 409 carries the server's size, so
// a lost answer, a resend or a restart on either side never duplicates or loses bytes. When the API
// says the task's log is at its cap (log_limit), shipping stops for good: the rest of the output is
// dropped, `truncated` is set (the finish report carries it) and close() still succeeds.
// closeWithTail() keeps a last partial chunk back for the finish to carry (the API offers room for it
// in reserve answers): most tasks print less than that, so their output costs no log request at all.
import path from 'node:path';
import { conflictSize, logLimitSize, type RetryPolicy, type RunnerApi } from '../api/index.js';
import { abortError, isIronError, toError } from '../errors.js';
import type { Logger } from '../log.js';
import { Spool } from './log-spool.js';

export interface LogShipperOptions {
  api: RunnerApi;
  taskId: string;
  /** Sent with every append so the API refuses output from a superseded reservation. */
  reservationId: string;
  spoolDir: string;
  log: Logger;
  /** Output that does not fill a chunk is shipped at most this long after it was written. */
  flushIntervalMs?: number;
  maxChunkBytes?: number;
  /** Appends in flight at once (1 = strictly one after another). */
  maxInFlight?: number;
  retry: RetryPolicy;
  /** Counts shipped bytes (metrics). */
  onShipped?: (bytes: number) => void;
}

const SPOOL_BLOCK = 256 * 1024;

export class LogShipper {
  private readonly spool: Spool;
  /** The server holds this reservation's output up to here. */
  private shipped = 0;
  /** Where the next chunk starts. */
  private next = 0;
  private readonly inflight = new Set<Promise<void>>();
  /** Read buffers of settled sends, reused by the next ones. */
  private readonly buffers: Buffer[] = [];
  /** After a 409: the largest size the server reported since, applied once nothing is in flight. */
  private resyncTo: number | undefined;
  private sendFailure: unknown;
  private closing = false;
  private limited = false;
  private waiter: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private failure: unknown;
  /** Closing: a last partial chunk of at most this many bytes is kept back for the finish. */
  private tailMax = 0;
  /** Bytes from `next` on that were kept back (closeWithTail). */
  private held = 0;
  /** When the oldest output not yet on its way was written (undefined: all of it is). */
  private pendingSince: number | undefined;
  private readonly ctl = new AbortController();
  private readonly flushMs: number;
  private readonly maxChunk: number;
  private readonly window: number;

  constructor(private readonly o: LogShipperOptions) {
    this.flushMs = o.flushIntervalMs ?? 250;
    this.maxChunk = o.maxChunkBytes ?? 1024 * 1024;
    this.window = Math.max(1, o.maxInFlight ?? 3);
    this.spool = new Spool(path.join(o.spoolDir, `${o.taskId}.log`), Math.min(SPOOL_BLOCK, this.maxChunk), () => this.poke());
  }

  async open(): Promise<void> {
    await this.spool.open();
    this.startLoop();
  }

  private startLoop(): void {
    // Held until close(): a permanent failure (task gone, token revoked) is reported there.
    this.loop = this.run().catch((err: unknown) => {
      this.failure = err;
    });
  }

  /** Takes output; resolves when it may be reused (back-pressure for the container's stream). */
  async write(chunk: Buffer): Promise<void> {
    if (this.loop === undefined || this.closing || this.limited || this.failure !== undefined || chunk.length === 0) return;
    await this.spool.append(chunk);
    // The first byte of a partial chunk arms the flush timer: it is shipped flushMs after it was
    // written, not at a fixed tick, so a job that prints and ends at once leaves it for the finish.
    if (this.pendingSince === undefined) {
      this.pendingSince = performance.now();
      this.poke();
    }
  }

  /** Ships everything written so far; resolves with the log size the server holds. */
  async close(signal: AbortSignal): Promise<number> {
    this.closing = true;
    const onAbort = (): void => this.ctl.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      this.poke();
      await this.loop;
      if (this.failure !== undefined) throw toError(this.failure);
      if (this.ctl.signal.aborted) throw abortError(this.ctl.signal);
      return this.shipped;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Ships all but a last partial chunk of at most `maxTail` bytes and hands that back with the size
   * the server holds, where it starts: finish-with-log carries it (its log_tail). With no room
   * (maxTail 0), more than a chunk left, or a resync under way, it is close() and no tail.
   */
  async closeWithTail(signal: AbortSignal, maxTail: number): Promise<{ size: number; tail?: { offset: number; data: Buffer } }> {
    this.tailMax = Math.min(maxTail, this.maxChunk);
    const size = await this.close(signal);
    if (this.held === 0) return { size };
    const data = Buffer.allocUnsafe(this.held);
    const n = await this.spool.read(data, this.held, this.next);
    return { size, tail: { offset: this.next, data: data.subarray(0, n) } };
  }

  /** The finish delivered the tail: counted as shipped. */
  tailDelivered(bytes: number): void {
    this.o.onShipped?.(bytes);
  }

  /**
   * finish-with-log refused the tail and finished nothing (the server holds `serverSize` bytes, or is
   * a replica without that call): it is shipped by log appends from there instead; resolves with the
   * size the server holds then.
   */
  async shipTail(serverSize: number, signal: AbortSignal): Promise<number> {
    this.tailMax = 0;
    this.held = 0;
    this.resyncTo = serverSize;
    this.startLoop();
    return this.close(signal);
  }

  /** Stops shipping at once (the task was lost) and removes the spool. Idempotent. */
  async dispose(): Promise<void> {
    this.closing = true;
    this.ctl.abort(new Error('disposed'));
    this.poke();
    await this.loop?.catch(() => undefined);
    await this.spool.remove();
  }

  /** The API's log cap was reached: output past it was dropped. */
  get truncated(): boolean {
    return this.limited;
  }

  get bytesWritten(): number {
    return this.spool.size;
  }

  private poke(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private async run(): Promise<void> {
    const signal = this.ctl.signal;
    let flushDue = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      for (;;) {
        if (signal.aborted || this.limited) break;
        if (this.resyncTo !== undefined && this.inflight.size === 0) this.resync(this.resyncTo);
        // A partial chunk goes out when the job went quiet (or ended) and nothing else is on its way.
        const partial = (flushDue || this.closing) && this.inflight.size === 0 && this.resyncTo === undefined;
        if (partial && this.spool.durable < this.spool.size) await this.spool.flush();
        const ready = this.spool.durable - this.next;
        // The last bytes, all durable and nothing else on its way: kept back for the finish.
        if (this.closing && partial && ready > 0 && ready <= this.tailMax && this.spool.durable === this.spool.size) {
          this.held = ready;
          return;
        }
        if (this.resyncTo === undefined && ready > 0 && this.inflight.size < this.window && (ready >= this.maxChunk || partial)) {
          this.launch(Math.min(ready, this.maxChunk), signal);
          if (this.next >= this.spool.size) {
            flushDue = false;
            this.pendingSince = undefined;
          }
          continue;
        }
        if (this.closing && this.inflight.size === 0 && this.resyncTo === undefined && this.shipped >= this.spool.size) return;
        const since = this.pendingSince;
        if (timer === undefined && since !== undefined && !flushDue) {
          timer = setTimeout(
            () => {
              timer = undefined;
              flushDue = true;
              this.poke();
            },
            Math.max(0, since + this.flushMs - performance.now()),
          );
        }
        // Nothing awaits between the checks above and here, so no poke can be missed.
        await new Promise<void>((resolve) => {
          this.waiter = resolve;
        });
      }
    } finally {
      clearTimeout(timer);
      await Promise.allSettled(this.inflight);
    }
    if (this.sendFailure !== undefined) throw toError(this.sendFailure);
  }

  private launch(len: number, signal: AbortSignal): void {
    const offset = this.next;
    this.next += len;
    const buf = this.buffers.pop() ?? Buffer.allocUnsafe(this.maxChunk);
    const send: Promise<void> = this.send(offset, len, buf, signal).finally(() => {
      this.buffers.push(buf);
      this.inflight.delete(send);
      this.poke();
    });
    this.inflight.add(send);
  }

  private async send(offset: number, len: number, buf: Buffer, signal: AbortSignal): Promise<void> {
    try {
      const n = await this.spool.read(buf, len, offset);
      const res = await this.o.api.appendLog(this.o.taskId, offset, buf.subarray(0, n), signal, {
        retry: this.o.retry,
        reservationId: this.o.reservationId,
      });
      this.o.onShipped?.(n);
      const size = Math.min(Math.max(res.size, offset + n), this.spool.size);
      this.shipped = Math.max(this.shipped, size);
      if (this.resyncTo !== undefined) this.resyncTo = Math.max(this.resyncTo, size);
    } catch (err) {
      const limit = logLimitSize(err);
      if (limit !== undefined) {
        this.limited = true;
        // Without a size (refused before the body was read) the answer of the capped chunk carries it.
        if (limit !== null) this.shipped = Math.max(this.shipped, Math.min(limit, this.spool.size));
        this.poke();
        return;
      }
      const size = conflictSize(err);
      if (size !== undefined && size !== offset) {
        // The server holds a different amount: an earlier chunk is not there (yet), an answer was lost,
        // or the API restarted. Sizes only grow, so the largest one reported wins once all have settled.
        this.resyncTo = Math.max(this.resyncTo ?? 0, size);
        return;
      }
      if (signal.aborted || isIronError(err, 'ERR_ABORTED')) return;
      this.sendFailure ??= err;
      this.ctl.abort(err);
    }
  }

  private resync(size: number): void {
    this.resyncTo = undefined;
    const to = Math.min(size, this.spool.size);
    if (to !== this.next) this.o.log.debug({ server_size: size, local_offset: this.next }, 'log offset resync');
    this.shipped = to;
    this.next = to;
    // Output the server does not hold is due again at once (it was due before it was refused).
    if (this.next < this.spool.size) this.pendingSince = Number.NEGATIVE_INFINITY;
  }
}
