// Zips a directory for `iron worker upload DIR`: regular files with their executable bit, empty
// directories, and symlinks as symlinks (never followed, so a link to /etc/passwd uploads as a link
// and is refused by the server instead of shipping the file). Anything else (sockets, fifos) is an
// error rather than silently left out.
import { lstat, readdir, readlink, readFile } from 'node:fs/promises';
import path from 'node:path';
import yazl from 'yazl';
import { IronError } from '../errors.js';

export async function packDirectory(root: string, signal: AbortSignal): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const mtime = new Date();
  const walk = async (rel: string): Promise<void> => {
    signal.throwIfAborted();
    const names = (await readdir(path.join(root, rel))).sort();
    if (names.length === 0 && rel !== '') zip.addEmptyDirectory(rel, { mtime });
    for (const name of names) {
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const full = path.join(root, relPath);
      const st = await lstat(full);
      if (st.isDirectory()) await walk(relPath);
      else if (st.isSymbolicLink()) zip.addBuffer(Buffer.from(await readlink(full)), relPath, { mode: 0o120777, mtime, compress: false });
      else if (st.isFile()) zip.addBuffer(await readFile(full), relPath, { mode: (st.mode & 0o111) !== 0 ? 0o100755 : 0o100644, mtime });
      else throw new IronError('ERR_CLI_FILE', `${full} is neither a file, a directory nor a symlink`, { details: { path: full } });
    }
  };
  try {
    await walk('');
  } catch (err) {
    if (err instanceof IronError) throw err;
    throw new IronError('ERR_CLI_FILE', `cannot read ${root}: ${(err as { code?: string }).code ?? 'error'}`, { cause: err, details: { path: root } });
  }
  zip.end();
  const parts: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}
