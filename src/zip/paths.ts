// Entry names and symlink targets of a code package, checked without touching any filesystem: the
// package is unpacked below one root (the task's directory), so every name must stay below it, and
// a symlink may only point at a place below it that is reached without passing another symlink
// (a chain of in-tree links can otherwise add up to an escape no single link shows).
import { IronError } from '../errors.js';
import { MAX_PATH_BYTES } from './limits.js';

/** Top-level names the runner itself uses in the task's directory (the read-only input mount). */
export const RESERVED_TOP_LEVEL: readonly string[] = ['input'];

/** The entry name as a clean relative path ('a/b'); throws ERR_ZIP_PATH for anything else. */
export function entryPath(raw: string): { path: string; isDir: boolean } {
  const shown = JSON.stringify(raw.slice(0, 200));
  if (raw === '' || Buffer.byteLength(raw) > MAX_PATH_BYTES) throw pathError(`entry name ${shown} is empty or too long`, raw);
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw pathError(`entry name ${shown} holds control characters`, raw);
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) throw pathError(`entry ${shown} has an absolute path`, raw);
  const isDir = raw.endsWith('/');
  const parts: string[] = [];
  for (const seg of raw.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') throw pathError(`entry ${shown} climbs out of the package with ".."`, raw);
    if (Buffer.byteLength(seg) > 255) throw pathError(`entry ${shown} has a name longer than 255 bytes`, raw);
    parts.push(seg);
  }
  if (parts.length === 0) {
    if (isDir) return { path: '', isDir };
    throw pathError(`entry name ${shown} names no file`, raw);
  }
  if (RESERVED_TOP_LEVEL.includes(parts[0] ?? '')) {
    throw new IronError('ERR_ZIP_RESERVED', `entry ${shown} uses the reserved top-level name "${parts[0] ?? ''}" (the task's input files live there)`, { details: { entry: raw.slice(0, 200) } });
  }
  return { path: parts.join('/'), isDir };
}

/**
 * Checks a symlink at `linkPath` (clean, relative) pointing at `target`: relative, below the root,
 * and not through another symlink of the package (`isLink`).
 */
export function checkSymlink(linkPath: string, target: string, isLink: (p: string) => boolean): void {
  const shown = `${JSON.stringify(linkPath.slice(0, 200))} -> ${JSON.stringify(target.slice(0, 200))}`;
  const fail = (why: string): IronError => new IronError('ERR_ZIP_SYMLINK', `symlink ${shown} ${why}`, { details: { entry: linkPath.slice(0, 200) } });
  if (target === '' || Buffer.byteLength(target) > MAX_PATH_BYTES || /[\u0000-\u001f\u007f]/.test(target)) throw fail('has an empty, too long or control-character target');
  if (target.startsWith('/') || /^[A-Za-z]:/.test(target) || target.includes('\\')) throw fail('points at an absolute path');
  const stack = linkPath.split('/').slice(0, -1);
  const segs = target.split('/').filter((s) => s !== '' && s !== '.');
  segs.forEach((seg, i) => {
    if (seg === '..') {
      if (stack.length === 0) throw fail('points out of the package');
      stack.pop();
      return;
    }
    stack.push(seg);
    // The last component may be a link (a link to a link: that one is checked on its own); a link
    // in the middle would make this lexical walk meaningless.
    if (i < segs.length - 1 && isLink(stack.join('/'))) throw fail('passes through another symlink');
  });
}

function pathError(msg: string, raw: string): IronError {
  return new IronError('ERR_ZIP_PATH', msg, { details: { entry: raw.slice(0, 200) } });
}
