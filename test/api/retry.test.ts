import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, withRetry } from '../../src/api/index.js';
import { IronError } from '../../src/errors.js';

describe('backoff', () => {
  it('stays within [exp/2, exp] where exp = min(max, base * 2^(attempt-1))', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 60_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, base, max, r) => {
        const exp = Math.min(max, base * 2 ** Math.min(attempt - 1, 30));
        const d = backoffDelayMs(attempt, { maxAttempts: Infinity, baseDelayMs: base, maxDelayMs: max }, () => r);
        return d >= Math.floor(exp / 2) && d <= Math.ceil(exp);
      }),
    );
  });

  it('retries only retryable errors, up to maxAttempts', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new IronError('ERR_API_UNAVAILABLE', 'x');
        },
        { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
        AbortSignal.timeout(5000),
      ),
    ).rejects.toMatchObject({ code: 'ERR_API_UNAVAILABLE' });
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new IronError('ERR_API_NOT_FOUND', 'x');
        },
        { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
        AbortSignal.timeout(5000),
      ),
    ).rejects.toMatchObject({ code: 'ERR_API_NOT_FOUND' });
    expect(calls).toBe(1);
  });
});
