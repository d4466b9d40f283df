// The data dir holds the database (tokens hashed, payloads, sealed registry passwords), task logs,
// code packages and iron.json (a token): only iron-api's user may read it. New files get 0600 from
// the process umask (main.ts) and explicit modes; this walk fixes what an earlier version or another
// tool left readable (dirs 0700, files 0600) each time iron-api starts.
import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** Tightens the dir and everything below it; returns how many entries were changed. */
export async function tightenDataDir(dataDir: string): Promise<number> {
  let changed = 0;
  const pending = [dataDir];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    changed += await fix(dir, DIR_MODE);
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      // Symlinks are left alone: chmod would follow them out of the data dir.
      if (e.isDirectory()) pending.push(path);
      else if (e.isFile()) changed += await fix(path, FILE_MODE);
    }
  }
  return changed;
}

async function fix(path: string, mode: number): Promise<number> {
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined || (st.mode & 0o777) === mode) return 0;
  await chmod(path, mode);
  return 1;
}
