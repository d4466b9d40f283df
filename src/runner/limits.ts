// One precedence for every per-task limit (memory, disk, CPU shares): what the task asks (iron-api
// sends its cluster's setting; Iron has no per-task or per-code field for these), capped by the
// runner's own setting, which is also the grant when the task asks nothing. The runner's operator
// sizes the machine (CONCURRENCY is derived from MEMORY_PER_JOB), so the runner never grants more than
// it was told it has; a task that needs more than it is granted is OOM-killed with a msg naming both.
import type { ReservedTask } from '../api/index.js';
import type { RunnerConfig } from '../config/runner.js';

export interface Grant {
  /** What the task asked, if anything. */
  readonly asked: number | undefined;
  readonly granted: number | undefined;
  /** The runner's maximum lowered the grant below what the task asked. */
  readonly capped: boolean;
}

export function grant(asked: number | undefined, runnerMax: number | undefined): Grant {
  const a = asked !== undefined && Number.isFinite(asked) && asked > 0 ? asked : undefined;
  if (a === undefined) return { asked: undefined, granted: runnerMax, capped: false };
  if (runnerMax === undefined || a <= runnerMax) return { asked: a, granted: a, capped: false };
  return { asked: a, granted: runnerMax, capped: true };
}

export interface TaskLimits {
  readonly memory: Grant & { readonly granted: number };
  readonly disk: Grant;
  readonly cpuShares: Grant;
}

export function taskLimits(task: Pick<ReservedTask, 'memory' | 'disk' | 'cpu_share'>, config: Readonly<RunnerConfig>): TaskLimits {
  const memory = grant(task.memory, config.memoryPerJob);
  return {
    memory: { ...memory, granted: memory.granted ?? config.memoryPerJob },
    disk: grant(task.disk, config.diskPerJob),
    cpuShares: grant(task.cpu_share, config.cpuShares),
  };
}
