// The one decision of what a task run reports (src/runner/outcome.ts), as a table: every way a run
// can end x every stop reason of the runner (none, cancel, requeue, lost, fenced).
import { describe, expect, it } from 'vitest';
import { IronError } from '../../src/errors.js';
import { decide, MAX_GIVE_BACK_ATTEMPTS, type RunEnd, type StopReason } from '../../src/runner/outcome.js';
import type { SandboxOutcome } from '../../src/sandbox/index.js';

const ran = { durationMs: 1234, logBytes: 10, truncated: true };
const sandbox = (o: SandboxOutcome): RunEnd => ({ kind: 'sandbox', outcome: o });
const engineDown = new IronError('ERR_ENGINE_UNAVAILABLE', 'connect ENOENT /var/run/docker.sock');
const engine500 = new IronError('ERR_ENGINE_FAILED', 'docker container start failed (HTTP 500): boom', { retryable: true });
const apiDown = new IronError('ERR_API_UNAVAILABLE', 'HTTP 503');

/** What each end reports when the runner did not stop the task (first attempt, uncapped memory). */
const ENDS: Array<[string, RunEnd, Record<string, unknown>]> = [
  ['exit 0', sandbox({ kind: 'exit', code: 0, reason: '', exitCode: 0, ...ran }), { action: 'finish', status: 'complete', msg: '', exitCode: 0, durationMs: 1234, truncated: true, engineDown: false }],
  ['exit 3', sandbox({ kind: 'exit', code: 3, reason: 'exit code 3', exitCode: 3, ...ran }), { action: 'finish', status: 'error', msg: 'exit code 3', exitCode: 3 }],
  ['exit 143 (the job itself)', sandbox({ kind: 'exit', code: 143, reason: 'exit code 143', exitCode: 143, ...ran }), { action: 'finish', status: 'error', msg: 'exit code 143', engineDown: false }],
  ['oom', sandbox({ kind: 'oom', reason: 'out of memory (limit 64 MiB)', exitCode: 137, ...ran }), { action: 'finish', status: 'killed', msg: 'out of memory (limit 64 MiB)', exitCode: 137 }],
  ['timeout', sandbox({ kind: 'timeout', reason: 'timed out after 10 s', exitCode: 137, ...ran }), { action: 'finish', status: 'timeout', msg: 'timed out after 10 s' }],
  ['cancelled', sandbox({ kind: 'cancelled', reason: 'cancelled', exitCode: null, ...ran }), { action: 'finish', status: 'cancelled', msg: 'cancelled' }],
  [
    'stopped by the engine, engine up',
    sandbox({ kind: 'stopped-by-engine', engineDown: false, reason: 'stopped by the docker engine, not by the job (x)', exitCode: 143, ...ran }),
    { action: 'finish', status: 'error', msg: 'stopped by the docker engine, not by the job (x)', exitCode: 143, engineDown: false },
  ],
  [
    'stopped by the engine, engine down',
    sandbox({ kind: 'stopped-by-engine', engineDown: true, reason: 'docker engine stopped while the task ran (exit code 137)', exitCode: 137, ...ran }),
    { action: 'finish', status: 'error', msg: 'docker engine stopped while the task ran (exit code 137)', engineDown: true },
  ],
  [
    'refused by the sandbox',
    sandbox({ kind: 'refused', reason: 'invalid image: x', exitCode: null, ...ran }),
    { action: 'finish', status: 'error', msg: 'invalid image: x', engineDown: false, refused: { code: 'ERR_INVALID_ARGUMENT', why: 'invalid image: x' } },
  ],
  [
    'engine down before the job ran',
    sandbox({ kind: 'failed', error: engineDown, engineAsked: false, reason: engineDown.message, exitCode: null, ...ran }),
    { action: 'give-back', why: 'engine', msg: `docker engine error: ${engineDown.message}`, exitCode: null, durationMs: 0, truncated: false, engineDown: true },
  ],
  [
    'engine 5xx after the job may have run',
    sandbox({ kind: 'failed', error: engine500, engineAsked: true, reason: engine500.message, exitCode: null, ...ran }),
    { action: 'finish', status: 'error', msg: `docker engine error: ${engine500.message}`, engineDown: true },
  ],
  [
    'invalid spec',
    sandbox({ kind: 'failed', error: new IronError('ERR_INVALID_ARGUMENT', 'invalid task spec: env var'), engineAsked: false, reason: '', exitCode: null, ...ran }),
    { action: 'finish', status: 'error', msg: 'task refused: invalid task spec: env var', engineDown: false, refused: { code: 'ERR_INVALID_ARGUMENT' } },
  ],
  [
    'output sink failed while running',
    sandbox({ kind: 'failed', error: new Error('spool full'), engineAsked: true, reason: 'spool full', exitCode: null, ...ran }),
    { action: 'finish', status: 'error', msg: 'task refused: spool full', engineDown: false, refused: undefined },
  ],
  ['API start: reservation gone', { kind: 'start-failed', error: new IronError('ERR_API_CONFLICT', 'HTTP 409') }, { action: 'none', why: 'reservation gone', refused: { code: 'ERR_API_CONFLICT' } }],
  ['API start: API unavailable', { kind: 'start-failed', error: apiDown }, { action: 'give-back', why: 'transient', msg: 'task refused: HTTP 503', engineDown: false }],
  ['API start: bad request', { kind: 'start-failed', error: new IronError('ERR_API_BAD_REQUEST', 'HTTP 400') }, { action: 'finish', status: 'error', msg: 'task refused: HTTP 400' }],
  [
    'code: download failed',
    { kind: 'code-failed', error: new IronError('ERR_API_NETWORK', 'socket hang up') },
    { action: 'give-back', why: 'transient', msg: 'code package download failed: socket hang up' },
  ],
  [
    'code: checksum',
    { kind: 'code-failed', error: new IronError('ERR_CODE_CHECKSUM', 'sha256 differs') },
    { action: 'finish', status: 'error', msg: 'code package refused: sha256 differs', refused: { code: 'ERR_CODE_CHECKSUM' } },
  ],
  ['code: unsafe zip', { kind: 'code-failed', error: new IronError('ERR_ZIP_PATH', 'bad path') }, { action: 'finish', status: 'error', msg: 'code package refused (ERR_ZIP_PATH): bad path' }],
  ['code: other', { kind: 'code-failed', error: new IronError('ERR_API_NOT_FOUND', 'HTTP 404') }, { action: 'finish', status: 'error', msg: 'code package unavailable: HTTP 404' }],
  ['code: reservation gone', { kind: 'code-failed', error: new IronError('ERR_API_FORBIDDEN', 'HTTP 403') }, { action: 'none', why: 'reservation gone' }],
  [
    'payload not decryptable',
    { kind: 'not-run', code: 'ERR_PAYLOAD_AUTH', msg: 'payload authentication failed' },
    { action: 'finish', status: 'error', msg: 'payload authentication failed', exitCode: null, durationMs: 0, refused: { code: 'ERR_PAYLOAD_AUTH' } },
  ],
  ['runner crash', { kind: 'crashed', error: new TypeError('x is undefined') }, { action: 'finish', status: 'error', msg: 'runner error: x is undefined', engineDown: false }],
];

const ctx = { attempt: 1, memory: { asked: undefined, granted: 64 << 20, capped: false } };

describe('what a run reports', () => {
  it.each(ENDS)('%s, not stopped by the runner', (_name, end, expected) => {
    expect(decide(end, undefined, ctx)).toMatchObject(expected);
  });

  it.each(ENDS)('%s, lost or fenced: never reported, never an engine failure', (_name, end) => {
    for (const stop of ['lost', 'fenced'] as const) {
      const d = decide(end, stop, ctx);
      expect(d).toMatchObject({ action: 'none', why: stop, engineDown: false });
      // Only a task that was never handed to the sandbox is still said to be refused.
      expect(d.refused === undefined).toBe(end.kind !== 'not-run');
    }
  });

  // The stop reason wins over the end's own status, except where the task is not ours anyway.
  it.each(ENDS)('%s, drained (requeue): given back', (_name, end, expected) => {
    const d = decide(end, 'requeue', ctx);
    if (expected['action'] === 'none') expect(d.action).toBe('none');
    else expect(d).toMatchObject({ action: 'give-back', why: 'drain' });
  });

  it.each(ENDS)('%s, cancelled by the user: reported cancelled unless given back', (_name, end, expected) => {
    const d = decide(end, 'cancel', ctx);
    if (expected['action'] === 'none') expect(d.action).toBe('none');
    else if (expected['action'] === 'give-back' && end.kind !== 'code-failed') expect(d).toMatchObject({ action: 'give-back' });
    else expect(d).toMatchObject({ action: 'finish', status: 'cancelled' });
  });

  it('a code package that failed while the runner stopped the task says cancelled', () => {
    const end: RunEnd = { kind: 'code-failed', error: new IronError('ERR_API_NETWORK', 'aborted') };
    expect(decide(end, 'cancel', ctx)).toMatchObject({ action: 'finish', status: 'cancelled', msg: 'cancelled' });
    expect(decide(end, 'requeue', ctx)).toMatchObject({ action: 'give-back', why: 'drain', msg: 'cancelled' });
  });

  it('the engine stopping a job the runner was stopping is not an engine failure', () => {
    const end = sandbox({ kind: 'stopped-by-engine', engineDown: true, reason: 'r', exitCode: 143, ...ran });
    expect(decide(end, 'cancel', ctx)).toMatchObject({ status: 'cancelled', engineDown: false });
    expect(decide(end, 'requeue', ctx)).toMatchObject({ action: 'give-back', engineDown: false });
  });

  it(`gives a transient failure before the run back ${MAX_GIVE_BACK_ATTEMPTS - 1} times, then ends it error`, () => {
    const end = sandbox({ kind: 'failed', error: engineDown, engineAsked: false, reason: '', exitCode: null, ...ran });
    expect(decide(end, undefined, { ...ctx, attempt: MAX_GIVE_BACK_ATTEMPTS - 1 })).toMatchObject({ action: 'give-back' });
    expect(decide(end, undefined, { ...ctx, attempt: MAX_GIVE_BACK_ATTEMPTS })).toMatchObject({
      action: 'finish',
      status: 'error',
      engineDown: true,
      msg: `given back ${MAX_GIVE_BACK_ATTEMPTS} times without running; last failure: docker engine error: ${engineDown.message}`,
    });
    const api = { kind: 'start-failed', error: apiDown } as const;
    expect(decide(api, undefined, { ...ctx, attempt: MAX_GIVE_BACK_ATTEMPTS })).toMatchObject({ action: 'finish', msg: /^given back 10 times without running; last failure: task refused: / });
  });

  it('an OOM under a memory grant the runner lowered names both', () => {
    const end = sandbox({ kind: 'oom', reason: 'out of memory (limit 64 MiB)', exitCode: 137, ...ran });
    const capped = { asked: 256 << 20, granted: 64 << 20, capped: true };
    expect(decide(end, undefined, { ...ctx, memory: capped })).toMatchObject({
      status: 'killed',
      msg: 'out of memory (limit 64 MiB); the task asks 256 MiB, this runner grants at most 64 MiB (MEMORY_PER_JOB)',
    });
  });

  it('covers every stop reason and every kind of sandbox outcome', () => {
    const stops: Array<StopReason | undefined> = [undefined, 'cancel', 'requeue', 'lost', 'fenced'];
    const kinds = new Set(ENDS.flatMap(([, e]) => (e.kind === 'sandbox' ? [e.outcome.kind] : [])));
    expect([...kinds].sort()).toEqual(['cancelled', 'exit', 'failed', 'oom', 'refused', 'stopped-by-engine', 'timeout']);
    expect(new Set(ENDS.map(([, e]) => e.kind))).toEqual(new Set(['sandbox', 'start-failed', 'code-failed', 'not-run', 'crashed']));
    for (const [, end] of ENDS) for (const stop of stops) expect(['finish', 'give-back', 'none']).toContain(decide(end, stop, ctx).action);
  });
});
