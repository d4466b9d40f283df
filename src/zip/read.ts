// Reading a code package zip safely: the central directory is walked once (names, types, sizes,
// duplicates, symlink targets and the limits are all checked before anything is unpacked), and
// every file's bytes are counted and CRC-checked as they inflate, so a header that lies about a size
// cannot turn into a zip bomb. iron-api runs verifyPackage at upload; the runner opens the package
// again with the same checks before it hands the entries to the sandbox.
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { IronError, isIronError } from '../errors.js';
import { MAX_PATH_BYTES, RATIO_FLOOR_BYTES, type ZipLimits } from './limits.js';
import { checkSymlink, entryPath } from './paths.js';

export type EntryKind = 'file' | 'dir' | 'symlink';

export interface PackageEntry {
  /** Clean relative path below the package root ('bin/run.sh'). */
  readonly path: string;
  readonly kind: EntryKind;
  /** 0o755 or 0o644 for files (the executable bit is kept, nothing else), 0o755 for directories. */
  readonly mode: number;
  /** Uncompressed bytes (files); 0 otherwise. */
  readonly size: number;
  /** Symlinks: the checked relative target. */
  readonly target?: string;
  /** Files: the inflated bytes, counted and CRC-checked (the stream errors on a mismatch). */
  open(): Promise<Readable>;
}

export interface OpenedPackage {
  readonly entries: readonly PackageEntry[];
  /** Sum of the file sizes. */
  readonly unpackedBytes: number;
  close(): void;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const MADE_BY_UNIX = 3;
const DOS_DIR_ATTR = 0x10;

/** Opens and checks a package; the caller closes it. Throws an ERR_ZIP_* IronError on any violation. */
export async function openPackage(file: string, limits: ZipLimits): Promise<OpenedPackage> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: false, strictFileNames: false });
  } catch (err) {
    throw invalid('the code file is not a readable zip archive', err);
  }
  try {
    if (zip.entryCount > limits.maxEntries) throw tooMany(zip.entryCount, limits);
    const entries = await collect(zip, limits);
    return { entries, unpackedBytes: entries.reduce((n, e) => n + e.size, 0), close: () => zip.close() };
  } catch (err) {
    zip.close();
    throw err;
  }
}

/** Opens, checks and inflates every file once (upload time): the package is known good or refused. */
export async function verifyPackage(file: string, limits: ZipLimits, signal: AbortSignal): Promise<{ entries: number; unpackedBytes: number }> {
  const pkg = await openPackage(file, limits);
  try {
    for (const e of pkg.entries) {
      if (e.kind !== 'file') continue;
      signal.throwIfAborted();
      await pipeline(await e.open(), new Writable({ write: (_c, _e, cb) => cb() }), { signal });
    }
    return { entries: pkg.entries.length, unpackedBytes: pkg.unpackedBytes };
  } finally {
    pkg.close();
  }
}

async function collect(zip: yauzl.ZipFile, limits: ZipLimits): Promise<PackageEntry[]> {
  const kinds = new Map<string, EntryKind>();
  const out: PackageEntry[] = [];
  let total = 0;
  for await (const e of entriesOf(zip)) {
    if (out.length >= limits.maxEntries) throw tooMany(out.length + 1, limits);
    const name = yauzl.getFileNameLowLevel(e.generalPurposeBitFlag, e.fileNameRaw, e.extraFields, false);
    if (e.isEncrypted()) throw invalid(`entry ${JSON.stringify(name.slice(0, 200))} is encrypted`);
    const unix = e.versionMadeBy >> 8 === MADE_BY_UNIX;
    const type = unix ? (e.externalFileAttributes >>> 16) & S_IFMT : 0;
    const { path, isDir: slashDir } = entryPath(name);
    const isDir = slashDir || type === S_IFDIR || (!unix && (e.externalFileAttributes & DOS_DIR_ATTR) !== 0);
    if (path === '') continue;
    let kind: EntryKind;
    if (type === S_IFLNK && !slashDir) kind = 'symlink';
    else if (isDir) kind = 'dir';
    else if (type === 0 || type === S_IFREG) kind = 'file';
    else throw invalid(`entry ${JSON.stringify(path.slice(0, 200))} is a device, fifo or socket`);
    if (kinds.has(path)) throw new IronError('ERR_ZIP_DUPLICATE', `entry ${JSON.stringify(path.slice(0, 200))} appears more than once`, { details: { entry: path.slice(0, 200) } });
    kinds.set(path, kind);
    if (kind === 'file') {
      total += e.uncompressedSize;
      if (total > limits.maxUnpackedBytes) {
        throw new IronError('ERR_ZIP_TOO_LARGE', `the package unpacks to more than ${limits.maxUnpackedBytes} bytes`, { details: { limit: limits.maxUnpackedBytes } });
      }
      if (e.uncompressedSize > RATIO_FLOOR_BYTES && e.uncompressedSize > limits.maxRatio * Math.max(1, e.compressedSize)) {
        throw new IronError('ERR_ZIP_BOMB', `entry ${JSON.stringify(path.slice(0, 200))} inflates more than ${limits.maxRatio} times (a zip bomb?)`, {
          details: { entry: path.slice(0, 200), limit: limits.maxRatio },
        });
      }
      const mode = unix && ((e.externalFileAttributes >>> 16) & 0o111) !== 0 ? 0o755 : 0o644;
      out.push({ path, kind, mode, size: e.uncompressedSize, open: () => openChecked(zip, e, path) });
    } else if (kind === 'dir') {
      out.push({ path, kind, mode: 0o755, size: 0, open: () => Promise.reject(invalid(`${path} is a directory`)) });
    } else {
      if (e.uncompressedSize > MAX_PATH_BYTES)
        throw new IronError('ERR_ZIP_SYMLINK', `symlink ${JSON.stringify(path.slice(0, 200))} has a target longer than ${MAX_PATH_BYTES} bytes`, { details: { entry: path.slice(0, 200) } });
      const target = (await readAll(await openChecked(zip, e, path))).toString('utf8');
      out.push({ path, kind, mode: 0o777, size: 0, target, open: () => Promise.reject(invalid(`${path} is a symlink`)) });
    }
  }
  for (const e of out) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const k = kinds.get(prefix);
      if (k === 'symlink')
        throw new IronError('ERR_ZIP_SYMLINK', `entry ${JSON.stringify(e.path.slice(0, 200))} lies below the symlink ${JSON.stringify(prefix)}`, { details: { entry: e.path.slice(0, 200) } });
      if (k === 'file') throw new IronError('ERR_ZIP_DUPLICATE', `${JSON.stringify(prefix)} is both a file and a directory`, { details: { entry: prefix.slice(0, 200) } });
    }
    if (e.kind === 'symlink') checkSymlink(e.path, e.target ?? '', (p) => kinds.get(p) === 'symlink');
  }
  return out;
}

async function* entriesOf(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  for (;;) {
    const next = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
      const onEntry = (e: yauzl.Entry): void => {
        off();
        resolve(e);
      };
      const onEnd = (): void => {
        off();
        resolve(undefined);
      };
      const onError = (err: Error): void => {
        off();
        reject(invalid('the zip archive is corrupt', err));
      };
      const off = (): void => {
        zip.off('entry', onEntry);
        zip.off('end', onEnd);
        zip.off('error', onError);
      };
      zip.on('entry', onEntry);
      zip.on('end', onEnd);
      zip.on('error', onError);
      zip.readEntry();
    });
    if (next === undefined) return;
    yield next;
  }
}

/** The entry's bytes, failing with ERR_ZIP_BOMB past the declared size and ERR_ZIP_INVALID on a short or corrupt entry. */
async function openChecked(zip: yauzl.ZipFile, e: yauzl.Entry, path: string): Promise<Readable> {
  let raw: Readable;
  try {
    raw = await zip.openReadStreamPromise(e);
  } catch (err) {
    throw invalid(`entry ${JSON.stringify(path.slice(0, 200))} cannot be read (unsupported compression or corrupt)`, err);
  }
  let seen = 0;
  let crc = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > e.uncompressedSize) {
        cb(new IronError('ERR_ZIP_BOMB', `entry ${JSON.stringify(path.slice(0, 200))} inflates past its declared size (a zip bomb?)`, { details: { entry: path.slice(0, 200) } }));
        return;
      }
      crc = crc32(chunk, crc);
      cb(null, chunk);
    },
    flush(cb) {
      if (seen !== e.uncompressedSize || crc !== e.crc32) cb(invalid(`entry ${JSON.stringify(path.slice(0, 200))} is corrupt (size or CRC mismatch)`));
      else cb();
    },
  });
  // A consumer that gives up early must not leave the inflater reading the file.
  check.on('close', () => raw.destroy());
  raw.on('error', (err: Error) => {
    check.destroy(isIronError(err) ? err : invalid(`entry ${JSON.stringify(path.slice(0, 200))} is corrupt`, err));
  });
  return raw.pipe(check);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

function tooMany(n: number, limits: ZipLimits): IronError {
  return new IronError('ERR_ZIP_TOO_MANY_ENTRIES', `the package has more than ${limits.maxEntries} entries (${n})`, { details: { limit: limits.maxEntries } });
}

function invalid(msg: string, cause?: unknown): IronError {
  return new IronError('ERR_ZIP_INVALID', msg, cause === undefined ? {} : { cause });
}
