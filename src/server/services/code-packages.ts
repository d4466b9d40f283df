// A revision's zip (kept by the store's PackageStore: data dir files or PostgreSQL rows) and the
// reference a reserved task carries to it.
// A reservation never carries the bytes: the runner fetches them (GET .../runner/tasks/{id}/code)
// only when its cache by sha256 does not hold them yet.
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../../log.js';
import type { CodePackageRef } from '../../protocol/runner.js';
import type { CodeStore } from '../store/ports.js';
import type { PackageBlob, PackageStore } from '../store/packages.js';
import type { CodeRevision } from '../store/records.js';

export type PackageFile = PackageBlob;

export class CodePackages {
  constructor(
    private readonly store: PackageStore,
    private readonly codes: CodeStore,
    private readonly log: Logger,
  ) {}

  /** Takes the verified upload at `path` as the zip of revision `historyId`. */
  put(historyId: string, path: string, signal: AbortSignal): Promise<void> {
    return this.store.put(historyId, path, signal);
  }

  /** The revision's zip, undefined when there is none. */
  file(historyId: string, signal: AbortSignal): Promise<PackageFile | undefined> {
    return this.store.get(historyId, signal);
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
        const file = await this.store.get(rev.id, signal);
        if (file === undefined) throw new Error('the zip of this revision is missing');
        await pipeline(file.stream(signal), hash, { signal });
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
