// The long engine streams (attach, wait, events, pull) cannot have a deadline: a job may run for an
// hour. A hung engine (issue 16: libnetwork's lock-order deadlock leaves dockerd alive but silent)
// would leave them pending forever. While any is open, the engine is asked `/_ping` every interval
// with a deadline; after `failures` missed pings in a row every open stream is destroyed with
// ERR_ENGINE_TIMEOUT, which the runner treats like an engine that went away (it stops taking tasks
// until the engine answers again).
import { IronError } from '../errors.js';

export interface LivenessOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive missed pings that mean "down" (one slow answer under load is not a hang). */
  failures: number;
}

interface Destroyable {
  destroy(err?: Error): unknown;
}

export class EngineLiveness {
  private readonly open = new Set<Destroyable>();
  private timer: NodeJS.Timeout | undefined;
  private missed = 0;

  constructor(
    private readonly ping: (signal: AbortSignal) => Promise<void>,
    private readonly opts: LivenessOptions,
  ) {}

  /** Watches a stream until it closes (or until the returned function is called). */
  watch(stream: Destroyable & { once(event: 'close', fn: () => void): unknown }): () => void {
    this.open.add(stream);
    const done = (): void => {
      this.open.delete(stream);
      if (this.open.size === 0) this.halt();
    };
    stream.once('close', done);
    this.arm();
    return done;
  }

  get watching(): number {
    return this.open.size;
  }

  private arm(): void {
    if (this.timer !== undefined || this.open.size === 0) return;
    this.timer = setTimeout(() => void this.probe(), this.opts.intervalMs);
    this.timer.unref();
  }

  private halt(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.missed = 0;
  }

  private async probe(): Promise<void> {
    try {
      await this.ping(AbortSignal.timeout(this.opts.timeoutMs));
      this.missed = 0;
    } catch {
      this.missed++;
    }
    this.timer = undefined;
    if (this.missed >= this.opts.failures) {
      const err = new IronError('ERR_ENGINE_TIMEOUT', `the docker engine did not answer /_ping ${this.missed} times in a row (deadline ${this.opts.timeoutMs} ms); treating it as down`, {
        details: { op: 'ping', missed: this.missed },
      });
      this.missed = 0;
      for (const s of [...this.open]) s.destroy(err);
      this.open.clear();
      return;
    }
    this.arm();
  }
}
