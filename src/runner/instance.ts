// A runner's identity survives restarts: after a crash the same instance id finds its orphaned
// containers by label and gives their tasks back at once instead of waiting for lease expiry.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { IronError } from '../errors.js';
import { isInstanceId } from '../ids.js';

/** Reads `<stateDir>/instance-id`, creating it atomically on first start. */
export async function loadInstanceId(stateDir: string, override?: string): Promise<string> {
  if (override !== undefined) return override;
  const file = path.join(stateDir, 'instance-id');
  try {
    const id = (await readFile(file, 'utf8')).trim();
    if (isInstanceId(id)) return id;
    throw new IronError('ERR_CONFIG_INVALID', `${file} holds an invalid instance id; remove the file to get a new one`);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') {
      if (err instanceof IronError) throw err;
      throw new IronError('ERR_CONFIG_INVALID', `cannot read ${file}: ${(err as { code?: string }).code ?? 'error'}`, { cause: err });
    }
  }
  const id = `r-${randomBytes(8).toString('hex')}`;
  try {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${id}\n`, { mode: 0o600 });
    await rename(tmp, file);
  } catch (err) {
    throw new IronError('ERR_CONFIG_INVALID', `cannot write ${file} (JOBS_DIR must be writable): ${(err as { code?: string }).code ?? 'error'}`, { cause: err });
  }
  return id;
}
