// The runner fleet as iron-api sees it: every heartbeat that carries a `runner` report says who the
// runner is and how busy. The store keeps the last report per instance; an instance not heard from
// for RUNNER_LOST_AFTER is `lost`, and stays listed (with its last_seen_at) for RUNNER_RETENTION.
// Heartbeats arrive every second from every runner, so a report is written only when it changed or
// when the instance's row is a third of RUNNER_LOST_AFTER old: an unchanged fleet costs about one
// upsert per runner per few seconds, and a row is never so old that a live runner reads as lost.
import type { ServerConfig } from '../../config/server.js';
import type { Logger } from '../../log.js';
import type { InstanceStore } from '../store/ports.js';
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

  constructor(
    private readonly store: InstanceStore,
    private readonly config: ServerConfig,
    private readonly log: Logger,
  ) {}

  private get refreshMs(): number {
    return Math.max(this.config.heartbeatIntervalMs, Math.floor(this.config.runnerLostAfterMs / 3));
  }

  /** A heartbeat's report: written when it changed or the stored row is getting old. */
  async seen(report: InstanceReport, now: number, signal: AbortSignal): Promise<void> {
    const key = `${report.clusterId}\0${report.instanceId}`;
    const said = `${report.slotsBusy}|${report.slotsTotal}|${report.draining}|${report.hostname}|${report.version}|${report.engineVersion}|${report.startedAt}`;
    const last = this.written.get(key);
    if (last !== undefined && last.said === said && now - last.at < this.refreshMs) return;
    await this.store.recordInstance(report, now, signal);
    this.written.set(key, { at: now, said });
  }

  /** The cluster's instances seen within the retention, each with its state now. */
  async instances(clusterId: string, signal: AbortSignal): Promise<InstanceView[]> {
    return this.view(await this.store.listInstances([clusterId], Date.now() - this.config.runnerRetentionMs, signal));
  }

  /** Runner slots per cluster (clusters without instances get zeros). */
  async counts(clusterIds: readonly string[], signal: AbortSignal): Promise<Map<string, FleetCounts>> {
    const out = new Map<string, FleetCounts>(clusterIds.map((id) => [id, NO_RUNNERS]));
    if (clusterIds.length === 0) return out;
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
