// Code package zips by revision (history id), whichever store keeps them: files in the data dir
// (the SQLite install, FilePackages here) or PostgreSQL rows (postgres/packages.ts), so replicas of
// a shared database need no shared disk.
import { createReadStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { IronError } from '../../errors.js';
import { isObjectId } from '../../ids.js';

/** A stored zip, to be streamed. */
export interface PackageBlob {
  readonly size: number;
  stream(signal?: AbortSignal): Readable;
}

export interface PackageStore {
  /** Takes the verified zip at `path` (the upload's temp file, consumed) as the package of `historyId`. */
  put(historyId: string, path: string, signal: AbortSignal): Promise<void>;
  /** The revision's zip, undefined when there is none. */
  get(historyId: string, signal: AbortSignal): Promise<PackageBlob | undefined>;
}

export class FilePackages implements PackageStore {
  constructor(private readonly dataDir: string) {}

  private path(historyId: string): string {
    if (!isObjectId(historyId)) throw new IronError('ERR_INVALID_ARGUMENT', 'bad revision id');
    return join(this.dataDir, 'code', `${historyId}.zip`);
  }

  async put(historyId: string, path: string): Promise<void> {
    await rename(path, this.path(historyId));
  }

  async get(historyId: string): Promise<PackageBlob | undefined> {
    const path = this.path(historyId);
    const size = await stat(path).then(
      (s) => s.size,
      () => undefined,
    );
    return size === undefined ? undefined : { size, stream: () => createReadStream(path) };
  }

  async remove(historyId: string): Promise<void> {
    await rm(this.path(historyId), { force: true });
  }
}
