// Retention: finished tasks older than RETENTION days, and their logs, are deleted in small batches
// every few minutes, so the tables (and the queue's indexes) stay small. Every replica runs this;
// the store lets one purge at a time. RETENTION=0 keeps everything.
import type { Logger } from '../../log.js';
import type { LogStore } from '../store/log-appends.js';
import type { RetentionStore } from '../store/ports.js';

const EVERY_MS = 10 * 60_000;
/** Tasks per transaction: short transactions, never a long lock on the tasks table. */
const BATCH = 500;
/** Batches per run at most; the rest waits for the next run. */
const MAX_BATCHES = 100;

export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: RetentionStore,
    private readonly logs: LogStore,
    private readonly keepMs: number,
    private readonly log: Logger,
    private readonly signal: AbortSignal,
  ) {}

  start(): void {
    if (this.keepMs <= 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.runOnce(Date.now()).then(
        () => {
          this.running = undefined;
        },
        () => {
          this.running = undefined;
        },
      );
    }, EVERY_MS);
    this.timer.unref();
  }

  /** Purges what ended before now - keep; returns how many tasks went. */
  async runOnce(now: number): Promise<number> {
    let removed = 0;
    try {
      for (let i = 0; i < MAX_BATCHES && !this.signal.aborted; i++) {
        const ids = await this.store.purgeFinished(now - this.keepMs, BATCH, this.signal);
        await this.logs.remove(ids);
        removed += ids.length;
        if (ids.length < BATCH) break;
      }
      if (removed > 0) this.log.info({ event: 'retention.purged', tasks: removed }, 'finished tasks past retention deleted');
    } catch (err) {
      if (!this.signal.aborted) this.log.warn({ err }, 'retention run failed');
    }
    return removed;
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
