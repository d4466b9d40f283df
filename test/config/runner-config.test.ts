// The runner's config names that choose behaviour rather than sizes: JOB_INPUT, JOBS_DIR, LOG_FLUSH_INTERVAL.
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

describe('MEMORY_PER_JOB, JOBS_MEMORY and the derived CONCURRENCY', () => {
  const GiB = 1 << 30;
  it('automatic CONCURRENCY is the memory for jobs divided by the most one task is granted', () => {
    expect(loadRunnerConfig({ ...base, MEMORY_PER_JOB: '1G' }, { usableMemory: 4.5 * GiB })).toMatchObject({ concurrency: 4, concurrencyDerived: true, jobsMemory: 4.5 * GiB });
    expect(loadRunnerConfig({ ...base, MEMORY_PER_JOB: '512M', JOBS_MEMORY: '2G' }, { usableMemory: 64 * GiB })).toMatchObject({ concurrency: 4, jobsMemory: 2 * GiB });
  });

  it('at least one slot, and an explicit CONCURRENCY is kept (the runner then starts tasks only while their memory fits)', () => {
    expect(loadRunnerConfig({ ...base, MEMORY_PER_JOB: '8G' }, { usableMemory: GiB }).concurrency).toBe(1);
    expect(loadRunnerConfig({ ...base, MEMORY_PER_JOB: '1G', CONCURRENCY: '8' }, { usableMemory: 2 * GiB })).toMatchObject({ concurrency: 8, jobsMemory: 2 * GiB });
  });

  it('refuses a JOBS_MEMORY that is not a size', () => {
    expect(() => loadRunnerConfig({ ...base, JOBS_MEMORY: 'lots' }, { usableMemory: GiB })).toThrow(/JOBS_MEMORY/);
  });
});

describe('API_URL with several replicas', () => {
  const load = (API_URL: string): ReturnType<typeof loadRunnerConfig> => loadRunnerConfig({ ...base, API_URL }, { usableMemory: 1 << 30 });
  const problemOf = (API_URL: string): unknown => {
    try {
      load(API_URL);
    } catch (err) {
      return err;
    }
    return undefined;
  };

  it('takes one URL or a comma-separated list, in order, blanks ignored', () => {
    expect(load('http://iron-api:8080').apiUrls.map(String)).toEqual(['http://iron-api:8080/']);
    expect(load(' http://a:8080, https://b/iron ,').apiUrls.map(String)).toEqual(['http://a:8080/', 'https://b/iron']);
  });

  it('names each bad entry in the one config error', () => {
    const err = problemOf('http://a:8080,ftp://b,nonsense');
    expect(isIronError(err, 'ERR_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain('"ftp://b" is not one');
    expect((err as Error).message).toContain('"nonsense" is not one');
    expect(isIronError(problemOf(' , '), 'ERR_CONFIG_INVALID')).toBe(true);
  });

  it('refuses a loopback replica in a container with a network of its own, whichever entry it is', () => {
    const err = (() => {
      try {
        loadRunnerConfig({ ...base, IRON_NETWORK_MODE: 'container', API_URL: 'http://iron-api-1:8080,http://127.0.0.1:8080' }, { usableMemory: 1 << 30 });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect((err as Error).message).toContain('API_URL http://127.0.0.1:8080 is the container itself');
  });
});

describe('LOG_FLUSH_INTERVAL', () => {
  it('defaults to 250 ms, takes a duration, and refuses one under 10 ms or not a duration', () => {
    expect(loadRunnerConfig(base, { usableMemory: 1 << 30 }).logFlushIntervalMs).toBe(250);
    expect(loadRunnerConfig({ ...base, LOG_FLUSH_INTERVAL: '2s' }, { usableMemory: 1 << 30 }).logFlushIntervalMs).toBe(2000);
    for (const bad of ['5ms', 'soon']) {
      let caught: unknown;
      try {
        loadRunnerConfig({ ...base, LOG_FLUSH_INTERVAL: bad }, { usableMemory: 1 << 30 });
      } catch (err) {
        caught = err;
      }
      expect(isIronError(caught, 'ERR_CONFIG_INVALID'), bad).toBe(true);
      expect((caught as Error).message).toContain('LOG_FLUSH_INTERVAL');
    }
  });
});
