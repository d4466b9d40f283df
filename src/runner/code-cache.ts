// Code packages on the runner's disk, by sha256 (JOBS_DIR/code-cache/<sha256>.zip): a second task of
// a revision (or of any revision with the same bytes) downloads nothing. Bytes are verified while
// they arrive and only a file whose sha256 matches is ever stored under that name. Least recently
// used packages are removed once the cache is over CODE_CACHE_SIZE, never one a task is unpacking.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { CodePackageRef } from '../api/index.js';
import { IronError, toError } from '../errors.js';
import type { RunnerEvents } from './events.js';

export type Fetch = (sink: (body: AsyncIterable<Uint8Array>) => Promise<void>, signal: AbortSignal) => Promise<void>;

interface Entry {
  readonly sha256: string;
  readonly size: number;
  lastUsed: number;
  pins: number;
}

export interface CachedPackage {
  readonly path: string;
  /** True when this call downloaded the bytes (false: a cache hit, or another task's download). */
  readonly downloaded: boolean;
  /** Ends this task's use; the package may be evicted after. */
  release(): void;
}

const SHA256_RE = /^[0-9a-f]{64}$/;

export class CodeCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<void>>();
  private clock = 0;
  private ready: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly events: RunnerEvents,
    private readonly hooks: {
      /** Runs on a downloaded file whose sha256 matched, before it is cached; throwing refuses it. */
      verify?: (file: string, signal: AbortSignal) => Promise<void>;
    } = {},
  ) {}

  /** Bytes of packages on disk. */
  get size(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.size;
    return n;
  }

  has(sha256: string): boolean {
    return this.entries.has(sha256);
  }

  /** The verified package of `ref`, downloaded through `fetch` unless present. */
  async acquire(ref: CodePackageRef, fetch: Fetch, signal: AbortSignal): Promise<CachedPackage> {
    if (!SHA256_RE.test(ref.sha256)) {
      throw new IronError('ERR_CODE_CHECKSUM', 'the API gave no valid sha256 for this code package (its file may be missing on the server)');
    }
    await (this.ready ??= this.load());
    let downloaded = false;
    for (;;) {
      const e = this.entries.get(ref.sha256);
      if (e !== undefined) return this.pin(e, downloaded);
      const running = this.inflight.get(ref.sha256);
      if (running !== undefined) {
        // Another task is downloading the same bytes: wait for it. Its failure (its own cancel) is
        // not ours: the loop then downloads them itself.
        await running.catch(() => undefined);
        signal.throwIfAborted();
        continue;
      }
      const p = this.download(ref, fetch, signal);
      this.inflight.set(ref.sha256, p);
      try {
        await p;
        downloaded = true;
      } finally {
        this.inflight.delete(ref.sha256);
      }
    }
  }

  private pin(e: Entry, downloaded: boolean): CachedPackage {
    e.pins++;
    e.lastUsed = ++this.clock;
    const file = this.fileOf(e.sha256);
    // The recency survives a restart (load orders by mtime); best effort.
    const now = new Date();
    utimes(file, now, now).catch(() => undefined);
    let released = false;
    return {
      path: file,
      downloaded,
      release: () => {
        if (released) return;
        released = true;
        e.pins--;
        void this.evict();
      },
    };
  }

  private fileOf(sha256: string): string {
    return path.join(this.dir, `${sha256}.zip`);
  }

  /** Reads what an earlier run left: verified packages by name, oldest first; partial downloads go. */
  private async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const found: Array<{ sha256: string; size: number; mtime: number }> = [];
    for (const name of await readdir(this.dir)) {
      const full = path.join(this.dir, name);
      const m = /^([0-9a-f]{64})\.zip$/.exec(name);
      if (m?.[1] === undefined) {
        await rm(full, { force: true, recursive: true }).catch(() => undefined);
        continue;
      }
      const st = await stat(full).catch(() => undefined);
      if (st?.isFile() === true) found.push({ sha256: m[1], size: st.size, mtime: st.mtimeMs });
    }
    found.sort((a, b) => a.mtime - b.mtime);
    for (const f of found) this.entries.set(f.sha256, { sha256: f.sha256, size: f.size, lastUsed: ++this.clock, pins: 0 });
    await this.evict();
  }

  private async download(ref: CodePackageRef, fetch: Fetch, signal: AbortSignal): Promise<void> {
    const tmp = path.join(this.dir, `tmp-${randomBytes(8).toString('hex')}`);
    let size = 0;
    try {
      await fetch(async (body) => {
        // A retried fetch starts over in the same temp file.
        size = 0;
        const hash = createHash('sha256');
        const meter = new Writable({
          write: (chunk: Buffer, _enc, cb) => {
            size += chunk.length;
            if (size > ref.size) {
              cb(new IronError('ERR_CODE_CHECKSUM', `the code package is larger than the ${ref.size} bytes the API announced`));
              return;
            }
            hash.update(chunk);
            file.write(chunk, cb);
          },
        });
        const file = createWriteStream(tmp, { mode: 0o600 });
        // Write errors (a full disk) reach us through the write callbacks; the event must not go unheard.
        file.on('error', () => undefined);
        try {
          await pipeline(body, meter, { signal });
        } catch (err) {
          file.destroy();
          await finished(file).catch(() => undefined);
          throw err;
        }
        file.end();
        await finished(file);
        const got = hash.digest('hex');
        if (size !== ref.size || got !== ref.sha256) {
          throw new IronError(
            'ERR_CODE_CHECKSUM',
            `the code package does not match its sha256 (got ${size} bytes with sha256 ${got.slice(0, 12)}…, expected ${ref.size} bytes with ${ref.sha256.slice(0, 12)}…)`,
            {
              details: { expected: ref.sha256, got },
            },
          );
        }
      }, signal);
      await this.hooks.verify?.(tmp, signal);
      await rename(tmp, this.fileOf(ref.sha256));
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    this.entries.set(ref.sha256, { sha256: ref.sha256, size, lastUsed: ++this.clock, pins: 0 });
    this.events.emit('code.downloaded', { sha256: ref.sha256, bytes: size });
    await this.evict();
  }

  private async evict(): Promise<void> {
    let total = this.size;
    if (total <= this.maxBytes) return;
    const idle = [...this.entries.values()].filter((e) => e.pins === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const e of idle) {
      if (total <= this.maxBytes) break;
      this.entries.delete(e.sha256);
      total -= e.size;
      await rm(this.fileOf(e.sha256), { force: true }).catch((err: unknown) => this.events.emit('code.evict_failed', { sha256: e.sha256, err: toError(err) }));
      this.events.emit('code.evicted', { sha256: e.sha256, bytes: e.size });
    }
  }
}
