// The runner's config names that choose behaviour rather than sizes: JOB_INPUT and JOBS_DIR.
import { describe, expect, it } from 'vitest';
import { loadRunnerConfig } from '../../src/config/runner.js';
import { isIronError } from '../../src/errors.js';

const base = { CLUSTER_ID: 'c1', CLUSTER_TOKEN: 'tok', JOBS_DIR: '/var/lib/iron-test' };

describe('JOB_INPUT', () => {
  it('defaults to auto and accepts volume', () => {
    expect(loadRunnerConfig(base, { usableMemory: 1 << 30 }).jobInput).toBe('auto');
    expect(loadRunnerConfig({ ...base, JOB_INPUT: 'volume' }, { usableMemory: 1 << 30 }).jobInput).toBe('volume');
  });

  it('refuses anything else, naming the variable, in the one config error', () => {
    let caught: unknown;
    try {
      loadRunnerConfig({ ...base, JOB_INPUT: 'bind-mount', MEMORY_PER_JOB: 'lots' }, { usableMemory: 1 << 30 });
    } catch (err) {
      caught = err;
    }
    expect(isIronError(caught, 'ERR_CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toContain('JOB_INPUT');
    expect((caught as Error).message).toContain('MEMORY_PER_JOB');
    expect((caught as Error).message).not.toContain('tok');
  });
});
