// Where a revision's zip lives in the data dir and the reference a reserved task carries to it.
// A reservation never carries the bytes: the runner fetches them (GET .../runner/tasks/{id}/code)
// only when its cache by sha256 does not hold them yet.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../../log.js';
import type { CodePackageRef } from '../../protocol/runner.js';
import type { CodeStore } from '../store/ports.js';
import type { CodeRevision } from '../store/records.js';

/** A zip on disk, to be streamed. */
export interface PackageFile {
  readonly path: string;
  readonly size: number;
}

export class CodePackages {
  constructor(
    private readonly dataDir: string,
    private readonly codes: CodeStore,
    private readonly log: Logger,
  ) {}

  zipPath(historyId: string): string {
    return join(this.dataDir, 'code', `${historyId}.zip`);
  }

  /** The revision's zip, undefined when there is none on disk. */
  async file(historyId: string): Promise<PackageFile | undefined> {
    const path = this.zipPath(historyId);
    const size = await stat(path).then(
      (s) => s.size,
      () => undefined,
    );
    return size === undefined ? undefined : { path, size };
  }

  /**
   * The package reference of a revision, undefined for image-only revisions. A zip stored before
   * iron-api recorded sha256s gets it computed once here and stored; a zip that is gone from the data
   * dir gets an empty sha256, which the runner refuses (the task ends `error`, it never runs the bare image).
   */
  async ref(rev: CodeRevision, signal: AbortSignal): Promise<CodePackageRef | undefined> {
    if (rev.codeSize <= 0) return undefined;
    let sha256 = rev.sha256;
    if (sha256 === '') {
      try {
        const hash = createHash('sha256');
        await pipeline(createReadStream(this.zipPath(rev.id)), hash, { signal });
        sha256 = hash.digest('hex');
        await this.codes.setRevisionSha256(rev.id, sha256, signal);
      } catch (err) {
        this.log.warn({ err, revision: rev.id }, 'code package file unreadable; its tasks will end error');
        sha256 = '';
      }
    }
    return { rev: String(rev.rev), size: rev.codeSize, sha256 };
  }
}
