// The fleet's clock: every SAMPLE_MS one queue-depth query feeds the EWMA; every SWEEP_MS the
// instances lost for longer than RUNNER_RETENTION are forgotten. One timer, unref'd, stopped on close.
import type { Logger } from '../../log.js';
import type { TaskStore } from '../store/ports.js';
import type { Fleet } from './fleet.js';
import type { QueueEwma } from './queue-ewma.js';

const SAMPLE_MS = 5_000;
const SWEEP_MS = 60_000;

export class FleetSampler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly tasks: TaskStore,
    private readonly fleet: Fleet,
    private readonly ewma: QueueEwma,
    private readonly log: Logger,
    private readonly signal: AbortSignal,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => {
        this.running = undefined;
      });
    }, SAMPLE_MS);
    this.timer.unref();
    this.running = this.tick().finally(() => {
      this.running = undefined;
    });
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    try {
      this.ewma.sample(await this.tasks.queueDepth(now, this.signal), now);
      if (now - this.lastSweep >= SWEEP_MS) {
        this.lastSweep = now;
        await this.fleet.sweep(now, this.signal);
      }
    } catch (err) {
      if (!this.signal.aborted) this.log.warn({ err }, 'fleet sample failed');
    }
  }
}
