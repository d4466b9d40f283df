// The code-package limits, read the same way by iron-api (refused at upload) and iron-runner
// (checked again before unpacking), so one set of variable names means the same thing on both.
import { DEFAULT_ZIP_LIMITS, type ZipLimits } from '../zip/limits.js';
import type { ConfigReader } from './reader.js';

export function readZipLimits(r: ConfigReader): ZipLimits {
  return {
    maxEntries: r.int('MAX_CODE_FILES', DEFAULT_ZIP_LIMITS.maxEntries, 1, 10_000_000),
    maxUnpackedBytes: r.size('MAX_CODE_UNPACKED_SIZE', DEFAULT_ZIP_LIMITS.maxUnpackedBytes, 1024),
    maxRatio: r.int('MAX_CODE_RATIO', DEFAULT_ZIP_LIMITS.maxRatio, 2, 1_000_000),
  };
}
