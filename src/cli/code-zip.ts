// The code package for `iron worker upload --zip PATH`: a .zip file as is, or a directory zipped
// here (symlinks stay symlinks). The server checks the package; nothing is validated twice here.
import { stat } from 'node:fs/promises';
import { IronError } from '../errors.js';
import { packDirectory } from '../zip/index.js';
import type { CliContext } from './context.js';

export async function readCodeZip(ctx: CliContext, path: string): Promise<Buffer> {
  const st = await stat(path).catch((err: unknown) => {
    throw new IronError('ERR_CLI_FILE', `--zip ${path} cannot be read: ${(err as { code?: string }).code ?? 'error'}`, { details: { path } });
  });
  if (st.isDirectory()) return packDirectory(path, ctx.signal);
  return ctx.readFile(path, 'code zip');
}
