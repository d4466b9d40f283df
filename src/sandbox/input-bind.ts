// Input through a read-only bind of a per-task directory the runner writes itself: no engine calls
// and no untar per task (the volume way costs four calls and ~50-70 ms of critical path here). Only
// used once input-probe.ts proved that the engine sees this directory with the runner's bytes in it
// (the iron/runner image, or a runner on the engine's host). The job sees exactly its two files, read-only;
// no other host path is ever mounted. The directory is meant to be on a tmpfs (the image mounts one),
// so plaintext payloads stay off disk; it is emptied of other runs' leftovers at startup.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { CodeFiles } from './types.js';
import { INPUT_DIR, perTaskName, safeTaskId, type InputRequest, type JobInput, type PreparedInput } from './input-contract.js';

export class BindInput implements JobInput {
  /** `root`: a directory only this runner instance writes (JOBS_DIR/input). */
  constructor(readonly root: string) {}

  async prepare(req: InputRequest): Promise<PreparedInput> {
    const dir = path.join(this.root, perTaskName(req.taskId, randomBytes(6).toString('hex')));
    await mkdir(dir, { mode: 0o700 });
    try {
      await writeFile(path.join(dir, 'payload'), req.payload, { mode: 0o444, flag: 'wx' });
      await writeFile(path.join(dir, 'config'), req.config, { encoding: 'utf8', mode: 0o444, flag: 'wx' });
      if (req.code !== undefined) await writeCode(path.join(dir, 'code'), req.code);
      // Readable by whatever user the job's image runs as; writable by nobody.
      await chmod(dir, 0o555);
    } catch (err) {
      await removeDir(dir, req.log);
      throw err;
    }
    return {
      mount: { Type: 'bind', Source: dir, Target: INPUT_DIR, ReadOnly: true },
      filled: Promise.resolve(),
      dispose: () => removeDir(dir, req.log),
    };
  }

  /** Removes the directories of tasks that are not running (a crash, kill -9); returns how many. */
  async reap(keepTasks: ReadonlySet<string>, log: Logger): Promise<number> {
    const keep = new Set([...keepTasks].map(safeTaskId));
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return 0;
    }
    const stale = names.filter((n) => !keep.has(n.slice(0, n.lastIndexOf('-'))));
    for (const n of stale) await removeDir(path.join(this.root, n), log);
    return stale.length;
  }
}

/**
 * The package's files below `root`, which this runner just created. Entry paths are clean and never
 * pass through a symlink of the package (src/zip checked that), and every file is created exclusively,
 * so nothing here can write outside `root`. Modes are the package's (the mount is read-only anyway).
 */
async function writeCode(root: string, code: CodeFiles): Promise<void> {
  await mkdir(root, { mode: 0o755 });
  for (const e of code.entries) {
    const target = path.join(root, e.path);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    if (e.kind === 'dir') await mkdir(target, { recursive: true, mode: 0o755 });
    else if (e.kind === 'symlink') await symlink(e.target ?? '', target);
    else await pipeline(await e.open(), createWriteStream(target, { flags: 'wx', mode: e.mode }));
  }
}

async function removeDir(dir: string, log: Logger): Promise<void> {
  try {
    // A runner that is not root cannot unlink inside a 0555 directory.
    await chmod(dir, 0o700).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  } catch (err) {
    log.warn({ err, dir }, 'task input directory not removed');
  }
}
