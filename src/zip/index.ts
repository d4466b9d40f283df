// Code package zips: safe reading (src/zip/read.ts) and packing a directory (src/zip/pack.ts).
export { DEFAULT_ZIP_LIMITS, type ZipLimits } from './limits.js';
export { openPackage, verifyPackage, type EntryKind, type OpenedPackage, type PackageEntry } from './read.js';
export { packDirectory } from './pack.js';
