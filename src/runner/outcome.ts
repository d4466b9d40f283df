// The one place that decides what a task run reports. Its input is how the run ended (the sandbox's
// outcome, or what ended it before the sandbox could: a payload, a code package, the API's start
// call, a runner bug) and why the runner stopped it, if it did. Its output: finish with a status and
// msg, give the task back (finish `requeue`), or report nothing (the task is no longer ours), and
// whether the engine failed (the runner then stops taking tasks until it answers). The Buildkite
// agent decides in one switch over a documented reason; this is ours, with a table test
// (test/runner/outcome.test.ts).
//
// The stop reasons: `cancel` (the user cancelled: reported `cancelled`), `requeue` (drain timeout or
// a second signal: given back), `lost` and `fenced` (the lease is gone or could not be renewed in
// time: another runner may own the task now, so nothing is ever reported).
import { formatSize } from '../config/units.js';
import { isIronError, toError } from '../errors.js';
import type { SandboxOutcome, TaskUsage } from '../sandbox/index.js';
import type { GiveBackWhy, TaskEndStatus } from './events.js';
import type { Grant } from './limits.js';

export type StopReason = 'cancel' | 'lost' | 'fenced' | 'requeue';

/**
 * A task that failed before running for a transient reason is given back while its attempt (the
 * server counts every reservation) is below this; then it ends `error`. The cap lives in the runner
 * because only the runner knows why it gave a task back (docs/protocol.md, "Giving a task back").
 */
export const MAX_GIVE_BACK_ATTEMPTS = 10;

/** How a run ended. */
export type RunEnd =
  /** Never handed to the sandbox (payload not decryptable, no image): ends `error` with this msg. */
  | { kind: 'not-run'; code: string; msg: string }
  /** The code package could not be had. */
  | { kind: 'code-failed'; error: unknown }
  /** The API's start call failed (not because the runner stopped the task). */
  | { kind: 'start-failed'; error: unknown }
  | { kind: 'sandbox'; outcome: SandboxOutcome }
  /** A bug or an unexpected failure inside the runner. */
  | { kind: 'crashed'; error: unknown };

export interface DecideContext {
  /** The server's attempt count of this reservation (1 = first). */
  attempt: number;
  /** The memory grant (limits.ts): an OOM under a grant the runner lowered says so. */
  memory: Grant;
}

interface Measured {
  msg: string;
  exitCode: number | null;
  durationMs: number;
  truncated: boolean;
  /** What the container used, when the sandbox measured it (only a job that ran). */
  usage?: TaskUsage;
}

export type Decision =
  | (Measured & { action: 'finish'; status: TaskEndStatus; engineDown: boolean; refused: Refusal | undefined })
  | (Measured & { action: 'give-back'; why: GiveBackWhy; engineDown: boolean; refused: Refusal | undefined })
  | { action: 'none'; why: 'lost' | 'fenced' | 'reservation gone'; engineDown: false; refused: Refusal | undefined };

/** The task never ran, and why (the `task.refused` event). */
export interface Refusal {
  code: string;
  why: string;
}

/** What a run ended with, before the stop reason is applied. */
type Ending = (Measured & { status: TaskEndStatus; giveBack: boolean; engineDown: boolean; refused?: Refusal }) | { gone: true; refused?: Refusal };

export function decide(end: RunEnd, stop: StopReason | undefined, ctx: DecideContext): Decision {
  // Another runner may hold the task now: whatever happened, it is not ours to report.
  if (stop === 'lost' || stop === 'fenced') return { action: 'none', why: stop, engineDown: false, refused: refusalOf(end) };
  const e = ending(end, stop, ctx);
  if ('gone' in e) return { action: 'none', why: 'reservation gone', engineDown: false, refused: e.refused };
  const measured: Measured = { msg: e.msg, exitCode: e.exitCode, durationMs: e.durationMs, truncated: e.truncated, ...(e.usage === undefined ? {} : { usage: e.usage }) };
  const refused = e.refused;
  if (stop === 'requeue' || e.giveBack) {
    const why: GiveBackWhy = stop === 'requeue' ? 'drain' : e.engineDown ? 'engine' : 'transient';
    return { action: 'give-back', why, engineDown: e.engineDown, refused, ...measured };
  }
  if (stop === 'cancel') return { action: 'finish', status: 'cancelled', engineDown: e.engineDown, refused, ...measured };
  return { action: 'finish', status: e.status, engineDown: e.engineDown, refused, ...measured };
}

/** The status and msg of a sandbox outcome as such (also what `iron-runner exec` prints). */
export function taskResult(o: SandboxOutcome): { status: TaskEndStatus; msg: string; exitCode: number | null } {
  switch (o.kind) {
    case 'exit':
      return o.code === 0 ? { status: 'complete', msg: '', exitCode: 0 } : { status: 'error', msg: o.reason, exitCode: o.exitCode };
    case 'oom':
      return { status: 'killed', msg: o.reason, exitCode: o.exitCode };
    case 'timeout':
      return { status: 'timeout', msg: o.reason, exitCode: o.exitCode };
    case 'cancelled':
      return { status: 'cancelled', msg: o.reason, exitCode: o.exitCode };
    case 'stopped-by-engine':
    case 'refused':
      return { status: 'error', msg: o.reason, exitCode: o.exitCode };
    case 'failed':
      return { status: 'error', msg: o.reason, exitCode: null };
  }
}

function ending(end: RunEnd, stop: StopReason | undefined, ctx: DecideContext): Ending {
  switch (end.kind) {
    case 'not-run':
      return { ...unmeasured(end.msg), status: 'error', giveBack: false, engineDown: false, refused: { code: end.code, why: end.msg } };
    case 'crashed':
      return { ...unmeasured(`runner error: ${toError(end.error).message}`), status: 'error', giveBack: false, engineDown: false };
    case 'code-failed':
      return codeFailure(end.error, stop);
    case 'start-failed':
      if (isIronError(end.error, 'ERR_API_CONFLICT')) return { gone: true, refused: { code: 'ERR_API_CONFLICT', why: 'the API no longer holds this reservation; not running the task' } };
      return failure(end.error, false, ctx);
    case 'sandbox':
      return sandboxEnding(end.outcome, stop, ctx);
  }
}

function sandboxEnding(o: SandboxOutcome, stop: StopReason | undefined, ctx: DecideContext): Ending {
  if (o.kind === 'failed') return failure(o.error, o.engineAsked, ctx);
  const r = taskResult(o);
  const measured = { exitCode: r.exitCode, durationMs: o.durationMs, truncated: o.truncated, ...(o.usage === undefined ? {} : { usage: o.usage }) };
  if (o.kind === 'oom') return { ...measured, msg: explainOom(r.msg, ctx.memory), status: r.status, giveBack: false, engineDown: false };
  // The engine stopping a job counts as the engine failing only when the runner did not stop it.
  const engineDown = o.kind === 'stopped-by-engine' && o.engineDown && stop === undefined;
  const refused = o.kind === 'refused' ? { code: 'ERR_INVALID_ARGUMENT', why: o.reason } : undefined;
  return { ...measured, msg: r.msg, status: r.status, giveBack: false, engineDown, ...(refused === undefined ? {} : { refused }) };
}

/**
 * The engine or the API failed under the task. Before the job could run, a transient failure (the
 * engine's or the API's) gives the task back, a bounded number of times; anything else (the engine
 * refused this task, bad input) ends it `error` with the reason, because another attempt would meet
 * the same refusal. Once the engine was asked to start the job it may have run: never given back.
 */
function failure(err: unknown, engineAsked: boolean, ctx: DecideContext): Ending {
  const engineDown = engineTrouble(err);
  const transient = engineDown || (isIronError(err) && err.code.startsWith('ERR_API_') && err.retryable);
  const giveBack = !engineAsked && transient && ctx.attempt < MAX_GIVE_BACK_ATTEMPTS;
  const reason = toError(err).message;
  let msg = engineDown || isIronError(err, 'ERR_ENGINE_FAILED') ? `docker engine error: ${reason}` : `task refused: ${reason}`;
  if (!engineAsked && transient && !giveBack) msg = `given back ${ctx.attempt} times without running; last failure: ${msg}`;
  const refused = engineAsked || giveBack ? undefined : { code: isIronError(err) ? err.code : 'ERR_INTERNAL', why: msg };
  return { ...unmeasured(msg), status: 'error', giveBack, engineDown, ...(refused === undefined ? {} : { refused }) };
}

/** Why the package could not be had decides the report: not ours, a transient failure, or the task's error. */
function codeFailure(err: unknown, stop: StopReason | undefined): Ending {
  const code = isIronError(err) ? err.code : 'ERR_INTERNAL';
  if (code === 'ERR_API_FORBIDDEN') return { gone: true, refused: { code, why: 'the API no longer holds this reservation; not downloading its code package' } };
  if (stop !== undefined) return { ...unmeasured('cancelled'), status: 'error', giveBack: false, engineDown: false };
  const reason = toError(err).message;
  const refused = (why: string): Ending => ({ ...unmeasured(why), status: 'error', giveBack: false, engineDown: false, refused: { code, why } });
  // The API or the network was away: another attempt (here or elsewhere) can succeed.
  if (isIronError(err) && err.retryable && !code.startsWith('ERR_ZIP_')) {
    return { ...unmeasured(`code package download failed: ${reason}`), status: 'error', giveBack: true, engineDown: false, refused: { code, why: reason } };
  }
  if (code === 'ERR_CODE_CHECKSUM') return refused(`code package refused: ${reason}`);
  if (code.startsWith('ERR_ZIP_')) return refused(`code package refused (${code}): ${reason}`);
  return refused(`code package unavailable: ${reason}`);
}

/** The engine itself failed (unreachable, hung, 5xx), not the task: the runner pauses until it answers. */
function engineTrouble(err: unknown): boolean {
  return isIronError(err, 'ERR_ENGINE_UNAVAILABLE') || isIronError(err, 'ERR_ENGINE_TIMEOUT') || (isIronError(err, 'ERR_ENGINE_FAILED') && err.retryable);
}

/** An OOM kill under a grant the runner lowered says so: the task did get less than it asked. */
function explainOom(msg: string, memory: Grant): string {
  if (!memory.capped || memory.asked === undefined || memory.granted === undefined) return msg;
  return `${msg}; the task asks ${formatSize(memory.asked)}, this runner grants at most ${formatSize(memory.granted)} (MEMORY_PER_JOB)`;
}

function unmeasured(msg: string): Measured {
  return { msg, exitCode: null, durationMs: 0, truncated: false };
}

function refusalOf(end: RunEnd): Refusal | undefined {
  return end.kind === 'not-run' ? { code: end.code, why: end.msg } : undefined;
}
