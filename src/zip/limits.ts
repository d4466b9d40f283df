// Limits a code package must stay within, checked at upload (iron-api answers 400 with the code of
// the first violation) and again by the runner before it unpacks (a package stored before a limit
// was lowered, or bytes changed on disk, must not become a zip bomb on a runner host).
export interface ZipLimits {
  /** Entries (files, directories, symlinks) in one package. */
  readonly maxEntries: number;
  /** Sum of the uncompressed sizes of every file. */
  readonly maxUnpackedBytes: number;
  /** Largest uncompressed/compressed ratio of an entry bigger than RATIO_FLOOR_BYTES. */
  readonly maxRatio: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = Object.freeze({
  maxEntries: 10_000,
  maxUnpackedBytes: 1024 * 1024 * 1024,
  maxRatio: 200,
});

/**
 * Small entries may legitimately compress far better than any ratio (a 1 MiB file of spaces is
 * ~1000:1) and cannot hurt: the ratio limit applies to entries that unpack to more than this.
 */
export const RATIO_FLOOR_BYTES = 1024 * 1024;

/** Longest entry path and symlink target we accept (Linux PATH_MAX). */
export const MAX_PATH_BYTES = 4096;
