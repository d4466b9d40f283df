// The one polling waiter: resolves with the first value, says what it waited for when it gives up,
// lets errors through and stops when its signal is aborted.
import { describe, expect, it } from 'vitest';
import { waitFor } from './wait.js';

describe('waitFor', () => {
  it('polls until fn returns a value other than undefined or false, and resolves with it', async () => {
    let calls = 0;
    const got = await waitFor('the third call', () => (++calls === 3 ? { calls } : calls === 1 ? undefined : false), { everyMs: 1 });
    expect(got).toEqual({ calls: 3 });
  });

  it('names what it awaited, with the last state, when it times out', async () => {
    let last = 0;
    const wait = waitFor(
      () => `the counter to reach 1e9 (last: ${last})`,
      () => {
        last++;
        return undefined;
      },
      { timeoutMs: 30, everyMs: 1 },
    );
    await expect(wait).rejects.toThrow(new RegExp(`^timed out after 30 ms waiting for the counter to reach 1e9 \\(last: [1-9]\\d*\\)$`));
  });

  it('ends with the error fn throws, without polling again', async () => {
    let calls = 0;
    await expect(
      waitFor('never', () => {
        calls++;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(calls).toBe(1);
  });

  it('stops when its signal is aborted', async () => {
    const ctl = new AbortController();
    let calls = 0;
    const wait = waitFor(
      'an abort',
      () => {
        if (++calls === 2) ctl.abort();
        return undefined;
      },
      { everyMs: 1, timeoutMs: 60_000, signal: ctl.signal },
    );
    await expect(wait).rejects.toThrow(/abort/i);
    expect(calls).toBe(2);
  });
});
