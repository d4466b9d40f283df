// iron-api as a real process (dist/), for the tests that need one (kill -9, the process umask). The
// one implementation is bench/lib/api-proc.ts, shared with the benchmarks; the tests run from the
// sources, so the repository root is passed from here.
import { spawnApiProcess as spawn, type ApiProcess, type SpawnApiOptions } from '../../bench/lib/api-proc.js';
import { REPO_ROOT } from './vectors.js';

export type { ApiProcess, Credentials } from '../../bench/lib/api-proc.js';

export function spawnApiProcess(opts: SpawnApiOptions = {}): Promise<ApiProcess> {
  return spawn({ root: REPO_ROOT, ...opts });
}
