// A fleet of simulated runners for the replica chaos tests: each speaks the runner protocol through
// src/api (RunnerApi over an HttpClient that knows every API replica and fails over between them),
// with no Docker: a "task" ships a few log chunks of known bytes by offset and finishes `complete`.
// Everything a runner was given and shipped is recorded, so a test can compare it with what the API
// stored: which reservations each task got, which finish the API took, every log byte sent.
import { setTimeout as sleep } from 'node:timers/promises';
import { backoff, conflictSize, createRunnerClient, POLL_BACKOFF, type FailoverEvent, type RetryPolicy, type RunnerClient } from '../../src/api/index.js';
import type { ReservedTask } from '../../src/api/index.js';
import { errorCodeOf, isIronError } from '../../src/errors.js';

export interface FleetOptions {
  /** The replicas; runner i gets them rotated by i, so the fleet starts spread over all of them. */
  urls: readonly string[];
  clusterId: string;
  clusterToken: string;
  runners: number;
  slots: number;
  /** Log chunks per task and bytes per chunk. */
  chunks: number;
  chunkBytes: number;
  /** Pause before each chunk (the "work"). */
  workMs: number;
  /** A replica that sends no answer headers for this long is left (calls other than reserve). */
  headersTimeoutMs: number;
  heartbeatMs?: number;
}

export type Outcome = 'finished' | 'superseded' | 'lost' | 'running';

export interface Reservation {
  readonly taskId: string;
  readonly reservationId: string;
  readonly attempt: number;
  readonly runner: string;
  /** Bytes acknowledged by the API, in log order (what the runner shipped). */
  shipped: Buffer;
  outcome: Outcome;
  /**
   * The finish was sent. A finish the API committed whose answer was lost (its replica died) and
   * whose retry was then cut by a heartbeat saying `lost` (the task is finished, so the reservation
   * is no longer active) ends `lost` with this set: the API may well have taken it.
   */
  finishSent: boolean;
  finishedAt?: number;
}

export interface FailoverRecord extends FailoverEvent {
  readonly runner: string;
  readonly at: number;
}

// Calls whose loss loses data retry until delivered (as DELIVER_RETRY), each round across all replicas.
const DELIVER: RetryPolicy = { maxAttempts: Infinity, baseDelayMs: 100, maxDelayMs: 1_000 };

/** The bytes of chunk `i` of a reservation: recognisable in the stored log, different per attempt. */
export function chunkBytes(taskId: string, reservationId: string, i: number, size: number): Buffer {
  const head = `${taskId} ${reservationId} chunk ${i} `;
  return Buffer.from((head + '.'.repeat(Math.max(0, size - head.length - 1))).slice(0, size - 1) + '\n');
}

class SimRunner {
  private readonly client: RunnerClient;
  private readonly held = new Map<string, { reservationId: string; ctl: AbortController; finishing: boolean }>();
  private slotFree: (() => void) | undefined;

  constructor(
    readonly name: string,
    private readonly fleet: RunnerFleet,
    urls: readonly string[],
    private readonly o: FleetOptions,
    private readonly stop: AbortSignal,
  ) {
    this.client = createRunnerClient({
      baseUrl: urls,
      token: o.clusterToken,
      clusterId: o.clusterId,
      headersTimeoutMs: o.headersTimeoutMs,
      connectTimeoutMs: 2_000,
      onFailover: (e) => fleet.failovers.push({ ...e, runner: name, at: Date.now() }),
    });
  }

  /** The replica this runner's calls go to now. */
  get origin(): string {
    return this.client.http.origin;
  }

  async run(): Promise<void> {
    await Promise.all([this.poll(), this.beat()]);
    await this.client.close();
  }

  private async poll(): Promise<void> {
    let failures = 0;
    while (!this.stop.aborted) {
      const free = this.o.slots - this.held.size;
      if (free <= 0) {
        await new Promise<void>((r) => (this.slotFree = r));
        continue;
      }
      try {
        const res = await this.client.runner.reserve({ instance_id: this.name, n: free, wait: 5 }, this.stop);
        failures = 0;
        for (const t of res.tasks) void this.runTask(t);
      } catch (err) {
        if (this.stop.aborted) return;
        this.fleet.errors.push({ runner: this.name, phase: 'reserve', code: errorCodeOf(err), at: Date.now() });
        await backoff(++failures, POLL_BACKOFF, this.stop).catch(() => undefined);
      }
    }
  }

  private async beat(): Promise<void> {
    while (!this.stop.aborted) {
      await sleep(this.o.heartbeatMs ?? 1_000, undefined, { signal: this.stop }).catch(() => undefined);
      if (this.stop.aborted) return;
      const sent = [...this.held].map(([id, h]) => ({ id, reservation_id: h.reservationId }));
      if (sent.length === 0) continue;
      try {
        const res = await this.client.runner.heartbeat({ instance_id: this.name, tasks: sent }, this.stop);
        for (const id of res.lost) {
          const h = this.held.get(id);
          // A `lost` that raced our own finish (the task is finished, so the reservation is no
          // longer active) changes nothing: the finish is already on its way.
          if (h !== undefined && !h.finishing && sent.some((s) => s.id === id && s.reservation_id === h.reservationId)) h.ctl.abort();
        }
      } catch (err) {
        if (this.stop.aborted) return;
        this.fleet.errors.push({ runner: this.name, phase: 'heartbeat', code: errorCodeOf(err), at: Date.now() });
      }
    }
  }

  private async runTask(t: ReservedTask): Promise<void> {
    const rec: Reservation = { taskId: t.id, reservationId: t.reservation_id, attempt: t.attempt, runner: this.name, shipped: Buffer.alloc(0), outcome: 'running', finishSent: false };
    this.fleet.reservations.push(rec);
    const ctl = new AbortController();
    const h = { reservationId: t.reservation_id, ctl, finishing: false };
    this.held.set(t.id, h);
    const signal = AbortSignal.any([ctl.signal, this.stop]);
    try {
      await this.client.runner.start(t.id, t.reservation_id, signal, { retry: DELIVER });
      let offset = 0;
      for (let i = 0; i < this.o.chunks; i++) {
        await sleep(this.o.workMs, undefined, { signal });
        const bytes = chunkBytes(t.id, t.reservation_id, i, this.o.chunkBytes);
        for (;;) {
          try {
            const res = await this.client.runner.appendLog(t.id, offset, bytes, signal, { reservationId: t.reservation_id, retry: DELIVER });
            rec.shipped = Buffer.concat([rec.shipped, bytes]);
            offset = res.size;
            break;
          } catch (err) {
            const size = conflictSize(err);
            // One chunk in flight at a time: a size mismatch can only be our own earlier write.
            if (size === undefined) throw err;
            this.fleet.anomalies.push(`${t.id}: log offset ${offset} answered with size ${size}`);
            offset = size;
          }
        }
      }
      rec.finishSent = true;
      h.finishing = true;
      await this.client.runner.finish(t.id, { reservation_id: t.reservation_id, status: 'complete', exit_code: 0, msg: '', log_size: offset }, signal, { retry: DELIVER });
      rec.outcome = 'finished';
      rec.finishedAt = Date.now();
    } catch (err) {
      if (ctl.signal.aborted) rec.outcome = 'lost';
      else if (isIronError(err, 'ERR_API_CONFLICT') || isIronError(err, 'ERR_API_FORBIDDEN')) rec.outcome = 'superseded';
      else if (!this.stop.aborted) this.fleet.anomalies.push(`${t.id}: ${errorCodeOf(err)} ${(err as Error).message}`);
    } finally {
      this.held.delete(t.id);
      this.slotFree?.();
      this.slotFree = undefined;
    }
  }
}

export class RunnerFleet {
  readonly reservations: Reservation[] = [];
  readonly failovers: FailoverRecord[] = [];
  readonly errors: { runner: string; phase: string; code: string; at: number }[] = [];
  /** What should never happen (unexpected errors, a log size that went backwards). */
  readonly anomalies: string[] = [];
  private readonly ctl = new AbortController();
  private done: Promise<unknown> | undefined;
  private runners: SimRunner[] = [];

  constructor(private readonly o: FleetOptions) {}

  start(): void {
    const n = this.o.urls.length;
    this.runners = Array.from({ length: this.o.runners }, (_, i) => {
      const urls = [...this.o.urls.slice(i % n), ...this.o.urls.slice(0, i % n)];
      return new SimRunner(`r-sim-${i}`, this, urls, this.o, this.ctl.signal);
    });
    this.done = Promise.all(this.runners.map((r) => r.run()));
  }

  /** The runners whose calls go to `origin` now. */
  runnersOn(origin: string): string[] {
    return this.runners.filter((r) => r.origin === origin).map((r) => r.name);
  }

  /** Reservations whose finish the API took. */
  finished(): Reservation[] {
    return this.reservations.filter((r) => r.outcome === 'finished');
  }

  async stop(): Promise<void> {
    this.ctl.abort();
    await this.done;
  }
}
