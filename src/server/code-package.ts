// Where a revision's zip lives in the data dir and the reference a reserved task carries to it.
// A reservation never carries the bytes: the runner fetches them (GET .../runner/tasks/{id}/code)
// only when its cache by sha256 does not hold them yet.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Ctx } from './context.js';
import type { CodeRevision } from './store/types.js';

export interface PackageRef {
  /** The code revision the task was queued with (Iron's `code_rev`, a string). */
  readonly rev: string;
  readonly size: number;
  readonly sha256: string;
}

export function zipPath(ctx: Ctx, historyId: string): string {
  return join(ctx.deps.config.dataDir, 'code', `${historyId}.zip`);
}

/**
 * The package reference of a revision, undefined for image-only revisions. A zip stored before
 * iron-api recorded sha256s gets it computed once here and stored; a zip that is gone from the data
 * dir gets an empty sha256, which the runner refuses (the task ends `error`, it never runs the bare image).
 */
export async function packageRef(ctx: Ctx, rev: CodeRevision): Promise<PackageRef | undefined> {
  if (rev.codeSize <= 0) return undefined;
  let sha256 = rev.sha256;
  if (sha256 === '') {
    try {
      const hash = createHash('sha256');
      await pipeline(createReadStream(zipPath(ctx, rev.id)), hash, { signal: ctx.signal });
      sha256 = hash.digest('hex');
      await ctx.deps.store.setRevisionSha256(rev.id, sha256);
    } catch (err) {
      ctx.deps.log.warn({ err, revision: rev.id }, 'code package file unreadable; its tasks will end error');
      sha256 = '';
    }
  }
  return { rev: String(rev.rev), size: rev.codeSize, sha256 };
}
