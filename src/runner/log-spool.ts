// The log shipper's spool: one task's output in a file under the state dir, so memory stays bounded
// whatever the job prints and an API outage only grows the file. Output arrives as the engine's
// attach frames (4-32 KiB); one file write per frame cost a thread-pool round trip each (~0.4 ms
// under load, ~1.8 s per 100 MiB), and the attach stream is not read while a write is pending, so
// that throttled the job itself. Frames are gathered in a block instead: one block fills while the
// previous one is written, so memory is two blocks and a write waits only when both are busy.
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { IronError, toError } from '../errors.js';

export class Spool {
  private fh: FileHandle | undefined;
  private fill: Buffer | undefined;
  private fillLen = 0;
  private spare: Buffer | undefined;
  private writing: Promise<void> | undefined;
  private error: unknown;
  private onDisk = 0;
  private taken = 0;

  /** `onDurable` is called whenever more bytes can be read back. */
  constructor(
    readonly file: string,
    private readonly blockBytes: number,
    private readonly onDurable: () => void,
  ) {}

  async open(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    this.fh = await open(this.file, 'w+', 0o600);
  }

  /** Bytes appended so far. */
  get size(): number {
    return this.taken;
  }

  /** Bytes on disk, readable with read(). */
  get durable(): number {
    return this.onDisk;
  }

  /** Takes `chunk`; waits only while the block before the current one is still being written. */
  async append(chunk: Buffer): Promise<void> {
    let pos = 0;
    while (pos < chunk.length) {
      this.throwIfFailed();
      this.fill ??= Buffer.allocUnsafe(this.blockBytes);
      const n = chunk.copy(this.fill, this.fillLen, pos);
      this.fillLen += n;
      this.taken += n;
      pos += n;
      if (this.fillLen === this.fill.length) await this.startWrite();
    }
  }

  /** Puts everything appended so far on disk. */
  async flush(): Promise<void> {
    await this.startWrite();
    while (this.writing !== undefined) await this.writing;
    this.throwIfFailed();
  }

  /** Reads durable bytes at `offset` into `buf`; returns how many. */
  async read(buf: Buffer, length: number, offset: number): Promise<number> {
    const fh = this.fh;
    if (fh === undefined) return 0;
    const { bytesRead } = await fh.read(buf, 0, Math.min(length, this.onDisk - offset), offset);
    return bytesRead;
  }

  /** Closes and deletes the file. Idempotent. */
  async remove(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    this.fill = undefined;
    this.spare = undefined;
    await rm(this.file, { force: true });
  }

  private throwIfFailed(): void {
    if (this.error !== undefined) throw toError(this.error);
  }

  /** Starts writing the filled part of the block, after the previous block's write (one at a time). */
  private async startWrite(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
    const fh = this.fh;
    const block = this.fill;
    if (fh === undefined || block === undefined || this.fillLen === 0) return;
    const len = this.fillLen;
    const at = this.onDisk;
    // From here to the assignment below nothing awaits: no other caller can take the same block.
    this.fill = this.spare;
    this.spare = undefined;
    this.fillLen = 0;
    this.writing = (async () => {
      try {
        let done = 0;
        while (done < len) {
          const { bytesWritten } = await fh.write(block, done, len - done, at + done);
          if (bytesWritten === 0) throw new IronError('ERR_INTERNAL', 'log spool write made no progress', { details: { offset: at + done } });
          done += bytesWritten;
        }
        this.onDisk = at + len;
        this.spare = block;
        this.onDurable();
      } catch (err) {
        this.error ??= err;
      } finally {
        this.writing = undefined;
      }
    })();
  }
}
