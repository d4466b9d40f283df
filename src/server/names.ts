// Names a tenant chooses (codes, clusters): printable, and one spelling per look. Control
// characters break logs and tables; format characters (zero-width spaces and joiners, bidi
// overrides and isolates, U+FEFF) make two names that render alike differ, or reorder what an
// operator reads; a name must also be in Unicode NFC, so "é" is one name whether typed as one code
// point or as e + combining accent. Cross-script look-alikes (Latin "a", Cyrillic "а") are not
// refused: names are private to a project, so only a tenant's own names could be confused.
import { badRequest } from './http/errors.js';

const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\u2028\u2029]/u;

export function checkName(name: string, what: string, maxChars = 255): string {
  if (name.length > maxChars) throw badRequest(`${what} must be at most ${maxChars} characters`);
  if (UNPRINTABLE.test(name)) throw badRequest(`${what} must not contain control, invisible or bidi characters`);
  if (name.normalize('NFC') !== name) throw badRequest(`${what} must be in Unicode NFC form`);
  if (name.trim() !== name) throw badRequest(`${what} must not start or end with spaces`);
  return name;
}
