// Follows a task until it ends: status changes on stderr, its log live on stdout (only the bytes
// not printed yet), and on a TTY a one-line spinner that is erased before any other output.
import { FINAL_STATUSES, sleep, type TaskInfo } from '../api/index.js';
import { isIronError } from '../errors.js';
import type { CliContext } from './context.js';
import { TerminalText, TRUNCATED_NOTE } from './terminal-text.js';

export interface FollowOptions {
  readonly showStatus: boolean;
  readonly printLog: boolean;
  /** Poll interval bounds (ms); tests shorten them. */
  readonly minPollMs?: number;
  readonly maxPollMs?: number;
  /** Print job output as it is, escape sequences included, even on a TTY. */
  readonly raw?: boolean;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

class Spinner {
  private frame = 0;
  private shown = false;
  constructor(
    private readonly ctx: CliContext,
    private readonly started = Date.now(),
  ) {}

  draw(text: string): void {
    if (!this.ctx.err.isTTY) return;
    const secs = Math.round((Date.now() - this.started) / 1000);
    this.ctx.err.write(`\r\x1b[K${FRAMES[this.frame++ % FRAMES.length] ?? ''} ${text} ${secs}s`);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    this.ctx.err.write('\r\x1b[K');
    this.shown = false;
  }
}

async function fetchLog(ctx: CliContext, id: string): Promise<Buffer | undefined> {
  try {
    return await ctx.api().project.getTaskLog(id, ctx.signal);
  } catch (err) {
    // No log yet: the server answers 404 until the runner's first chunk arrives.
    if (isIronError(err, 'ERR_API_NOT_FOUND')) return undefined;
    throw err;
  }
}

export async function followTask(ctx: CliContext, id: string, opts: FollowOptions): Promise<TaskInfo> {
  const minPoll = opts.minPollMs ?? 250;
  const maxPoll = opts.maxPollMs ?? 1000;
  const spinner = new Spinner(ctx);
  let printed = 0;
  let lineOpen = false;
  let lastStatus: string | undefined;
  let pollMs = minPoll;
  const text = ctx.out.isTTY && opts.raw !== true ? new TerminalText() : undefined;

  const printNewLog = async (): Promise<void> => {
    const log = await fetchLog(ctx, id);
    if (log === undefined || log.length <= printed) return;
    spinner.clear();
    const chunk = log.subarray(printed);
    ctx.out.write(text === undefined ? chunk : text.write(chunk));
    printed = log.length;
    lineOpen = chunk[chunk.length - 1] !== 0x0a;
  };

  for (;;) {
    const task = await ctx.api().project.getTask(id, ctx.signal);
    if (task.status !== lastStatus) {
      if (opts.showStatus) {
        spinner.clear();
        if (lineOpen) {
          ctx.out.write('\n');
          lineOpen = false;
        }
        ctx.err.write(`task ${id}: ${task.status}\n`);
      }
      lastStatus = task.status;
      pollMs = minPoll;
    }
    const final = FINAL_STATUSES.has(task.status);
    if (opts.printLog && (final || task.status === 'running')) await printNewLog();
    if (final) {
      spinner.clear();
      if (text !== undefined) ctx.out.write(text.end());
      if (lineOpen) ctx.out.write('\n');
      if (opts.printLog && task.log_truncated === true) ctx.err.write(TRUNCATED_NOTE);
      return task;
    }
    if (!lineOpen) spinner.draw(task.status);
    await sleep(pollMs, ctx.signal);
    pollMs = Math.min(maxPoll, pollMs * 2);
  }
}
