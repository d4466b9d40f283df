// A loopback API_URL in a container with a network of its own is the container itself: the runner
// refuses it at start (exit 2) with a hint, instead of retrying ECONNREFUSED forever.
import { describe, expect, it } from 'vitest';
import { loadRunnerConfig } from '../../src/config/runner.js';
import { isIronError } from '../../src/errors.js';

const base = { CLUSTER_ID: 'c1', CLUSTER_TOKEN: 'tok', JOBS_DIR: '/var/lib/iron-test' };
const ctx = { usableMemory: 1 << 30 };

function problem(env: Record<string, string>): string | undefined {
  try {
    loadRunnerConfig({ ...base, ...env }, ctx);
    return undefined;
  } catch (err) {
    expect(isIronError(err, 'ERR_CONFIG_INVALID')).toBe(true);
    return (err as Error).message;
  }
}

describe('API_URL on loopback', () => {
  it('is refused with a hint inside a container network, for every loopback spelling and the default', () => {
    for (const url of [undefined, 'http://127.0.0.1:8080', 'http://localhost:8080', 'https://127.1.2.3', 'http://[::1]:8080', 'http://api.localhost']) {
      const msg = problem({ IRON_NETWORK_MODE: 'container', ...(url === undefined ? {} : { API_URL: url }) });
      expect(msg, url).toContain('is the container itself');
      expect(msg).toContain('--net=host');
      expect(msg).not.toContain('tok');
    }
  });

  it('is accepted with host networking, outside the image, or when explicitly allowed; other hosts always are', () => {
    expect(problem({ IRON_NETWORK_MODE: 'host', API_URL: 'http://127.0.0.1:8080' })).toBeUndefined();
    expect(problem({ API_URL: 'http://127.0.0.1:8080' })).toBeUndefined();
    expect(problem({ IRON_NETWORK_MODE: 'container', API_URL: 'http://127.0.0.1:8080', ALLOW_LOOPBACK_API: 'true' })).toBeUndefined();
    expect(problem({ IRON_NETWORK_MODE: 'container', API_URL: 'http://iron-api:8080' })).toBeUndefined();
    expect(problem({ IRON_NETWORK_MODE: 'container', API_URL: 'http://10.0.0.5:8080' })).toBeUndefined();
  });

  it('refuses an unknown IRON_NETWORK_MODE', () => {
    expect(problem({ IRON_NETWORK_MODE: 'bridge' })).toContain('IRON_NETWORK_MODE');
  });
});
