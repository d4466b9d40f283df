// The three questions src/errno.ts answers over one set of errno lists.
import { describe, expect, it } from 'vitest';
import { isEngineUnreachableErrno, isNeverSentErrno, isTransientErrno } from '../../src/errno.js';
import { isRetryable } from '../../src/errors.js';
import { engineError } from '../../src/sandbox/engine-errors.js';

const sys = (code: string): Error => Object.assign(new Error(code), { code });

describe('errno classification', () => {
  it('never sent is a subset of transient, and transient a subset of engine-unreachable', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']) {
      expect([isNeverSentErrno(code), isTransientErrno(code), isEngineUnreachableErrno(code)], code).toEqual([true, true, true]);
    }
    for (const code of ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET']) {
      expect([isNeverSentErrno(code), isTransientErrno(code), isEngineUnreachableErrno(code)], code).toEqual([false, true, true]);
    }
    for (const code of ['ENOENT', 'EACCES']) expect([isNeverSentErrno(code), isTransientErrno(code), isEngineUnreachableErrno(code)], code).toEqual([false, false, true]);
    for (const code of ['EINVAL', 'ERR_API_NETWORK', undefined, 42]) expect(isEngineUnreachableErrno(code)).toBe(false);
  });

  it('drives isRetryable for foreign errors and the engine errors retryability', () => {
    expect(isRetryable(sys('ECONNRESET'))).toBe(true);
    expect(isRetryable(sys('ENOENT'))).toBe(false);
    expect(engineError('ping', sys('ENOENT')).retryable).toBe(true);
    expect(engineError('ping', sys('EINVAL')).retryable).toBe(false);
  });
});
