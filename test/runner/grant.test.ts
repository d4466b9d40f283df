// The one precedence for per-task limits (src/runner/limits.ts), case by case.
import { describe, expect, it } from 'vitest';
import { loadRunnerConfig } from '../../src/config/runner.js';
import { grant, taskLimits } from '../../src/runner/limits.js';

const MiB = 1024 * 1024;
const base = { CLUSTER_ID: 'c1', CLUSTER_TOKEN: 'tok', JOBS_DIR: '/var/lib/iron-test' };

describe('grant: the task asks, the runner caps, the runner decides when nothing is asked', () => {
  it.each([
    // asked, runner max, granted, capped
    [256 * MiB, 64 * MiB, 64 * MiB, true],
    [32 * MiB, 64 * MiB, 32 * MiB, false],
    [64 * MiB, 64 * MiB, 64 * MiB, false],
    [undefined, 64 * MiB, 64 * MiB, false],
    [0, 64 * MiB, 64 * MiB, false],
    [-5, 64 * MiB, 64 * MiB, false],
    [10 * 1024 * MiB, undefined, 10 * 1024 * MiB, false],
    [undefined, undefined, undefined, false],
  ])('asked %s, runner %s -> %s', (asked, max, granted, capped) => {
    expect(grant(asked, max)).toMatchObject({ granted, capped });
  });

  it('memory, disk and CPU shares of a reserved task follow it', () => {
    const config = loadRunnerConfig({ ...base, MEMORY_PER_JOB: '64M', DISK_PER_JOB: '1G', CPU_SHARES: '512' }, { usableMemory: 1024 * MiB });
    const l = taskLimits({ memory: 256 * MiB, disk: 10 * 1024 * MiB, cpu_share: 100 }, config);
    expect(l.memory).toMatchObject({ granted: 64 * MiB, capped: true, asked: 256 * MiB });
    expect(l.disk).toMatchObject({ granted: 1024 * MiB, capped: true });
    expect(l.cpuShares).toMatchObject({ granted: 100, capped: false });
    const none = loadRunnerConfig(base, { usableMemory: 1024 * MiB });
    expect(taskLimits({ memory: 0, disk: 0 }, none)).toMatchObject({ memory: { granted: 256 * MiB }, disk: { granted: undefined }, cpuShares: { granted: undefined } });
  });
});
