// The runner fleet as iron-api sees it: every heartbeat that carries a `runner` report says who the
// runner is and how busy. The store keeps the last report per instance; an instance not heard from
// for RUNNER_LOST_AFTER is `lost`, and stays listed (with its last_seen_at) for RUNNER_RETENTION.
// A report is written only when it changed or when the instance's row is a third of
// RUNNER_LOST_AFTER old, and the reports of one FLUSH_MS go to the store in one write: 2,000 runners
// beating cost one upsert batch a second instead of hundreds of single-row transactions. Reads here
// write what is pending first, so this replica reads its own reports; other replicas see them
// within FLUSH_MS. A failed write keeps the batch for the next one (newer reports replace older).
import type { ServerConfig } from '../../config/server.js';
import type { Logger } from '../../log.js';
import type { InstanceSighting, InstanceStore } from '../store/ports.js';
import type { InstanceReport, RunnerInstance } from '../store/records.js';

export type InstanceState = 'idle' | 'busy' | 'draining' | 'lost';

export interface InstanceView extends RunnerInstance {
  readonly state: InstanceState;
}

/** Slots of the instances that are not lost (total), and those free on instances that take tasks. */
export interface FleetCounts {
  readonly runnersTotal: number;
  readonly runnersAvailable: number;
}

const NO_RUNNERS: FleetCounts = Object.freeze({ runnersTotal: 0, runnersAvailable: 0 });
/** A scrape of iron_runners reads the store at most this often. */
const STATES_TTL_MS = 5_000;
/** Reports heard within this long are written together. */
export const FLUSH_MS = 1_000;

export function instanceState(i: RunnerInstance, now: number, lostAfterMs: number): InstanceState {
  if (now - i.lastSeenAt > lostAfterMs) return 'lost';
  if (i.draining) return 'draining';
  return i.slotsBusy > 0 ? 'busy' : 'idle';
}

export function fleetCounts(list: Iterable<InstanceView>): FleetCounts {
  let runnersTotal = 0;
  let runnersAvailable = 0;
  for (const i of list) {
    if (i.state === 'lost') continue;
    runnersTotal += i.slotsTotal;
    if (i.state !== 'draining') runnersAvailable += Math.max(0, i.slotsTotal - i.slotsBusy);
  }
  return { runnersTotal, runnersAvailable };
}

export class Fleet {
  /** Per instance: when its report was last written here, and what it said. */
  private readonly written = new Map<string, { at: number; said: string }>();
  private statesAt = Number.NEGATIVE_INFINITY;
  private states: Promise<readonly InstanceView[]> = Promise.resolve([]);
  /** Reports not written yet, by instance key (the newest of each). */
  private pending = new Map<string, InstanceSighting & { said: string }>();
  private flushTimer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private closed = false;
  /** The last write failed (its warning was logged; the next is logged after a success). */
  private failing = false;

  constructor(
    private readonly store: InstanceStore,
    private readonly config: ServerConfig,
    private readonly log: Logger,
    /** Ends writes still retrying when the services close. */
    private readonly lifetime: AbortSignal,
  ) {}

  private get refreshMs(): number {
    return Math.max(this.config.heartbeatIntervalMs, Math.floor(this.config.runnerLostAfterMs / 3));
  }

  /** A heartbeat's report: written within FLUSH_MS when it changed or the stored row is getting old. */
  seen(report: InstanceReport, now: number): void {
    if (this.closed) return;
    const key = `${report.clusterId}\0${report.instanceId}`;
    const said = `${report.slotsBusy}|${report.slotsTotal}|${report.draining}|${report.hostname}|${report.version}|${report.engineVersion}|${report.startedAt}`;
    const last = this.written.get(key);
    if (!this.pending.has(key) && last !== undefined && last.said === said && now - last.at < this.refreshMs) return;
    this.pending.set(key, { report, at: now, said });
    this.arm();
  }

  private arm(): void {
    if (this.flushTimer !== undefined || this.closed) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush(this.lifetime).catch((err: unknown) => {
        // Once per outage: a store that is down fails every second until it is back.
        if (this.lifetime.aborted || this.failing) return;
        this.failing = true;
        this.log.warn({ err }, 'runner reports not written; tried again every second');
      });
    }, FLUSH_MS);
    this.flushTimer.unref();
  }

  /** Writes the pending reports (one write; one at a time). Rejects when the store does. */
  async flush(signal: AbortSignal): Promise<void> {
    while (this.writing !== undefined) await this.writing.catch(() => undefined);
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const write = this.store.recordInstances(
      [...batch.values()].map(({ report, at }) => ({ report, at })),
      signal,
    );
    this.writing = write.then(
      () => {
        this.failing = false;
        for (const [key, s] of batch) this.written.set(key, { at: s.at, said: s.said });
      },
      (err: unknown) => {
        // Kept for the next write unless a newer report of the instance came meanwhile.
        for (const [key, s] of batch) if (!this.pending.has(key)) this.pending.set(key, s);
        this.arm();
        throw err;
      },
    );
    try {
      await this.writing;
    } finally {
      this.writing = undefined;
    }
  }

  /** Writes what is pending and takes no more reports (the services close). Idempotent. */
  async close(signal: AbortSignal): Promise<void> {
    this.closed = true;
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.flush(signal).catch((err: unknown) => this.log.warn({ err }, 'runner reports not written at close'));
  }

  /** The cluster's instances seen within the retention, each with its state now. */
  async instances(clusterId: string, signal: AbortSignal): Promise<InstanceView[]> {
    await this.flush(signal);
    return this.view(await this.store.listInstances([clusterId], Date.now() - this.config.runnerRetentionMs, signal));
  }

  /** Runner slots per cluster (clusters without instances get zeros). */
  async counts(clusterIds: readonly string[], signal: AbortSignal): Promise<Map<string, FleetCounts>> {
    const out = new Map<string, FleetCounts>(clusterIds.map((id) => [id, NO_RUNNERS]));
    if (clusterIds.length === 0) return out;
    await this.flush(signal);
    // Lost instances count no slots: only those seen within RUNNER_LOST_AFTER are read.
    const live = this.view(await this.store.listInstances(clusterIds, Date.now() - this.config.runnerLostAfterMs, signal));
    for (const id of clusterIds) out.set(id, fleetCounts(live.filter((i) => i.clusterId === id)));
    return out;
  }

  /** Every cluster's instances with their states, for the metrics; at most one store read per STATES_TTL_MS. */
  allStates(signal: AbortSignal): Promise<readonly InstanceView[]> {
    const now = Date.now();
    if (now - this.statesAt >= STATES_TTL_MS) {
      this.statesAt = now;
      this.states = this.store
        .listInstances(null, now - this.config.runnerRetentionMs, signal)
        .then((list) => this.view(list))
        .catch(() => []);
    }
    return this.states;
  }

  /** Forgets instances lost for longer than the retention, and the write memo of silent ones. */
  async sweep(now: number, signal: AbortSignal): Promise<void> {
    for (const [key, w] of this.written) if (now - w.at > this.config.runnerLostAfterMs) this.written.delete(key);
    const dropped = await this.store.dropInstances(now - this.config.runnerRetentionMs, signal);
    if (dropped > 0) this.log.info({ dropped }, 'runner instances lost for longer than RUNNER_RETENTION forgotten');
  }

  private view(list: readonly RunnerInstance[]): InstanceView[] {
    const now = Date.now();
    return list.map((i) => ({ ...i, state: instanceState(i, now, this.config.runnerLostAfterMs) }));
  }
}
