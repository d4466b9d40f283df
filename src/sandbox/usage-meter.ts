// What a task's container used, from the engine's stats stream while it runs: the highest memory
// sample (on cgroup v1 each sample carries the cgroup's own peak, memory.max_usage_in_bytes, so
// nothing between samples is missed; on cgroup v2 it is the highest memory.current seen) and the
// last CPU total. The cgroup is gone once the container exited, so the last sample (at most about a
// second before the exit) is the final word: a task shorter than the first sample reports none.
import type { ContainerEngine, UsageSample } from './engine.js';
import type { TaskUsage } from './types.js';

export class UsageMeter {
  private peak = 0;
  private cpuNanos = 0;
  private samples = 0;

  /**
   * Follows the container's stats until `signal` aborts (the engine keeps the stream open after the
   * exit, sending empty samples, so the caller ends it). Never rejects.
   */
  follow(engine: ContainerEngine, containerId: string, signal: AbortSignal): void {
    void engine.containerStats(containerId, (s) => this.add(s), signal).catch(() => undefined);
  }

  add(s: UsageSample): void {
    this.samples++;
    this.peak = Math.max(this.peak, s.memoryBytes);
    this.cpuNanos = Math.max(this.cpuNanos, s.cpuNanos);
  }

  /** undefined when no sample arrived. */
  usage(): TaskUsage | undefined {
    if (this.samples === 0) return undefined;
    return { peakMemoryBytes: this.peak, cpuSeconds: this.cpuNanos / 1e9 };
  }
}
