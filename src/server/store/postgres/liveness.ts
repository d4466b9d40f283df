// Whether this replica can reach PostgreSQL. A network partition (or a paused link) leaves pooled
// connections open and silent: their statements neither fail nor finish, so requests hang until the
// client gives up and runners parked on this replica never learn to move. A probe (`SELECT 1` on a
// connection of its own, every PROBE_EVERY_MS) that gets no answer within PROBE_TIMEOUT_MS marks the
// database down; the pool then refuses new work at once (ERR_STORE_UNAVAILABLE, a 503) and cuts the
// connections that are waiting on it. The first probe answered marks it up again.
import pg from 'pg';

export const PROBE_EVERY_MS = 1_000;
export const PROBE_TIMEOUT_MS = 5_000;

export interface LivenessOptions {
  readonly url: string;
  readonly everyMs?: number;
  readonly timeoutMs?: number;
}

export class Liveness {
  private up = true;
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly everyMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly options: LivenessOptions,
    /** Called on every change (true: reachable again). */
    private readonly onChange: (up: boolean) => void,
  ) {
    this.everyMs = options.everyMs ?? PROBE_EVERY_MS;
    this.timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  }

  get reachable(): boolean {
    return this.up;
  }

  start(): void {
    if (this.closed || this.timer !== undefined) return;
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.probe(), this.everyMs);
    // The probe alone never keeps the process alive.
    this.timer.unref();
  }

  private async probe(): Promise<void> {
    let ok = false;
    let timeout: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.ping(),
        new Promise<never>((_, reject) => {
          timeout = setTimeout(() => reject(new Error('probe timed out')), this.timeoutMs);
        }),
      ]);
      ok = true;
    } catch {
      this.drop();
    } finally {
      clearTimeout(timeout);
    }
    if (this.closed) return;
    if (ok !== this.up) {
      this.up = ok;
      this.onChange(ok);
    }
    this.schedule();
  }

  private async ping(): Promise<void> {
    if (this.client === undefined) {
      const client = new pg.Client({ connectionString: this.options.url, application_name: 'iron-api-probe', connectionTimeoutMillis: this.timeoutMs });
      // A connection error is seen by the pending query (or the next one); never an unhandled 'error'.
      client.on('error', () => undefined);
      this.client = client;
      await client.connect();
    }
    await this.client.query('SELECT 1');
  }

  /** Forgets the probe connection; `end()` cuts a connection with a query still waiting on it. */
  private drop(): void {
    const c = this.client;
    this.client = undefined;
    void c?.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
