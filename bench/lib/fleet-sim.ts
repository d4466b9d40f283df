// Simulated runners for the fleet benchmark: each speaks the real runner protocol over HTTP (raw
// undici: the generator has to drive thousands of runners from one process, so it skips the full
// client's retry and validation layers), but runs no containers. A runner keeps one reserve in flight
// for its free slots (as src/runner/runner.ts does), heartbeats every second with the tasks it holds
// (holding none, at the idle interval the API's answers name, the first beat of an idle spell at a random
// point of it, and within a second of a reserve that brought tasks, as src/runner/heartbeat.ts does),
// and runs each task as start, a log chunk, the task's time, a second chunk (its last line), finish. The
// last line rides on the finish (finish-with-log) when the reserve answer offers room for it, as the real
// runner's LogShipper does with output still unshipped at the end; else it is a log append first.
import { setMaxListeners } from 'node:events';
import { Agent, request } from 'undici';
import { CHUNK, simFinish, tailOffered } from './sim-task.js';

export interface SimCluster {
  readonly id: string;
  readonly token: string;
}

export interface SimConfig {
  readonly url: string;
  /** Runners are spread over these clusters round-robin (a cluster parks at most 256 reserves). */
  readonly clusters: readonly SimCluster[];
  readonly runners: number;
  readonly slots: number;
  /** Instance ids are `${prefix}-${i}` (unique over all generators). */
  readonly prefix: string;
  readonly taskMs: number;
  readonly heartbeatMs: number;
  /** Long-poll seconds of each reserve. */
  readonly waitS: number;
}

export interface SimMark {
  /** Tasks finished (the API accepted the finish) since the last mark. */
  completed: number;
  reserved: number;
  /** Heartbeat round trips since the last mark, ms. */
  heartbeats: number[];
  errors: Record<string, number>;
}

export interface SimFinal {
  /** Reservation hand-outs per task id (more than 1: handed out twice). */
  reservedTimes: Record<string, number>;
  /** Accepted finishes per task id. */
  finishedTimes: Record<string, number>;
}

interface Held {
  readonly id: string;
  readonly reservation_id: string;
}

/** One simulated runner's heartbeat state. */
interface Beats {
  readonly instanceId: string;
  readonly cluster: SimCluster;
  readonly held: Map<string, Held>;
  /** The idle interval the API named (undefined: beat every heartbeatMs, as with an older API). */
  idleMs: number | undefined;
  timer: NodeJS.Timeout | undefined;
  armedIdle: boolean;
}

export class SimFleet {
  private readonly agent = new Agent({ keepAliveTimeout: 60_000, connections: null });
  private readonly ctl = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private mark: SimMark = { completed: 0, reserved: 0, heartbeats: [], errors: {} };
  private readonly reservedTimes = new Map<string, number>();
  private readonly finishedTimes = new Map<string, number>();
  /** Tasks whose finish was sent and not yet answered. */
  private readonly finishing = new Set<string>();
  /** Tasks finished since the start (marks do not reset it). */
  completedTotal = 0;

  constructor(private readonly cfg: SimConfig) {
    // Every request in flight listens on the one stop signal: thousands at once are expected.
    setMaxListeners(0, this.ctl.signal);
  }

  start(): void {
    for (let i = 0; i < this.cfg.runners; i++) {
      const cluster = this.cfg.clusters[i % this.cfg.clusters.length];
      if (cluster === undefined) throw new Error('no cluster to run on');
      this.loops.push(this.runner(`${this.cfg.prefix}-${i}`, cluster));
    }
  }

  /** What happened since the previous call. */
  takeMark(): SimMark {
    const m = this.mark;
    this.mark = { completed: 0, reserved: 0, heartbeats: [], errors: {} };
    return m;
  }

  /** Ends parked reserves and heartbeats (call once every task finished); the per-task tallies. */
  async stop(): Promise<SimFinal> {
    this.ctl.abort();
    for (const t of this.timers) clearTimeout(t);
    await Promise.allSettled(this.loops);
    await this.agent.close();
    return { reservedTimes: Object.fromEntries(this.reservedTimes), finishedTimes: Object.fromEntries(this.finishedTimes) };
  }

  private error(what: string): void {
    this.mark.errors[what] = (this.mark.errors[what] ?? 0) + 1;
  }

  private async post(cluster: SimCluster, path: string, body: string | Buffer, json: boolean, signal: AbortSignal): Promise<{ status: number; body: unknown; retryAfter: number }> {
    const res = await request(`${this.cfg.url}/2/clusters/${cluster.id}${path}`, {
      method: 'POST',
      dispatcher: this.agent,
      body,
      signal,
      headers: { authorization: `OAuth ${cluster.token}`, 'content-type': json ? 'application/json' : 'application/octet-stream' },
    });
    const text = await res.body.text();
    const ra = Number(res.headers['retry-after'] ?? 1);
    return { status: res.statusCode, body: text === '' ? {} : (JSON.parse(text) as unknown), retryAfter: Number.isFinite(ra) ? ra : 1 };
  }

  private async runner(instanceId: string, cluster: SimCluster): Promise<void> {
    const signal = this.ctl.signal;
    const held = new Map<string, Held>();
    let slotFreed: (() => void) | undefined;
    // Heartbeats start at a random point of the first second, so a fleet started at once is spread out.
    const beats: Beats = { instanceId, cluster, held, idleMs: undefined, timer: undefined, armedIdle: false };
    this.heartbeats(beats, Math.random() * this.cfg.heartbeatMs, false);
    while (!signal.aborted) {
      const free = this.cfg.slots - held.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (slotFreed = resolve));
        continue;
      }
      try {
        const res = await this.post(cluster, '/runner/reserve', JSON.stringify({ instance_id: instanceId, n: free, wait: this.cfg.waitS }), true, signal);
        if (res.status === 503) {
          this.error('reserve_503');
          await this.sleep(res.retryAfter * 1000);
          continue;
        }
        if (res.status !== 200) {
          this.error(`reserve_${res.status}`);
          await this.sleep(1000);
          continue;
        }
        const answer = res.body as { tasks: Held[]; idle_heartbeat_interval_ms?: number };
        const tail = tailOffered(res.body as Record<string, unknown>);
        if (typeof answer.idle_heartbeat_interval_ms === 'number') beats.idleMs = answer.idle_heartbeat_interval_ms;
        if (answer.tasks.length > 0 && beats.timer !== undefined && beats.armedIdle) {
          clearTimeout(beats.timer);
          this.timers.delete(beats.timer);
          this.heartbeats(beats, this.cfg.heartbeatMs, false);
        }
        for (const t of answer.tasks) {
          this.mark.reserved++;
          this.reservedTimes.set(t.id, (this.reservedTimes.get(t.id) ?? 0) + 1);
          held.set(t.id, { id: t.id, reservation_id: t.reservation_id });
          void this.task(cluster, t, tail).finally(() => {
            held.delete(t.id);
            slotFreed?.();
            slotFreed = undefined;
          });
        }
      } catch {
        if (signal.aborted) return;
        this.error('reserve_failed');
        await this.sleep(1000);
      }
    }
  }

  private heartbeats(b: Beats, delayMs: number, idle: boolean): void {
    if (this.ctl.signal.aborted) return;
    b.armedIdle = idle;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      b.timer = undefined;
      const t0 = performance.now();
      const tasks = [...b.held.values()];
      this.post(b.cluster, '/runner/heartbeat', JSON.stringify({ instance_id: b.instanceId, tasks }), true, this.ctl.signal)
        .then((res) => {
          if (res.status !== 200) this.error(`heartbeat_${res.status}`);
          else this.mark.heartbeats.push(performance.now() - t0);
          const answer = res.body as { lost?: string[]; idle_heartbeat_interval_ms?: number };
          if (typeof answer.idle_heartbeat_interval_ms === 'number') b.idleMs = answer.idle_heartbeat_interval_ms;
          // A task that finished while the heartbeat was on its way is reported lost: not an error. Its
          // finish may have been applied before its answer arrived (on another replica's slower reply).
          const lost = (answer.lost ?? []).filter((id) => b.held.has(id) && !this.finishing.has(id));
          if (lost.length > 0) this.error('heartbeat_lost');
        })
        .catch(() => {
          if (!this.ctl.signal.aborted) this.error('heartbeat_failed');
        })
        .finally(() => {
          const nextIdle = b.held.size === 0 && b.idleMs !== undefined;
          const idleMs = Math.max(this.cfg.heartbeatMs, b.idleMs ?? 0);
          // As src/runner/heartbeat.ts: the first idle beat of an idle spell at a random point of the interval.
          const interval = !nextIdle ? this.cfg.heartbeatMs : b.armedIdle ? idleMs : Math.random() * idleMs;
          this.heartbeats(b, Math.max(0, interval - (performance.now() - t0)), nextIdle);
        });
    }, delayMs);
    b.timer = timer;
    this.timers.add(timer);
  }

  /** One task: start, a log chunk, the task's time, the last chunk (in the finish if `tail`), finish. */
  private async task(cluster: SimCluster, t: Held, tail: boolean): Promise<void> {
    // A task in flight finishes even while the fleet stops: its reservation must not be stranded.
    const signal = new AbortController().signal;
    const base = `/runner/tasks/${t.id}`;
    const rid = encodeURIComponent(t.reservation_id);
    const call = async (what: string, path: string, body: string | Buffer, json: boolean): Promise<boolean> => {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          const res = await this.post(cluster, path, body, json, signal);
          if (res.status === 200) return true;
          this.error(`${what}_${res.status}`);
          if (res.status < 500) return false;
        } catch {
          this.error(`${what}_failed`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      return false;
    };
    if (!(await call('start', `${base}/start`, JSON.stringify({ reservation_id: t.reservation_id }), true))) return;
    if (!(await call('log', `${base}/log?offset=0&reservation_id=${rid}`, CHUNK, false))) return;
    await new Promise((r) => setTimeout(r, this.cfg.taskMs));
    if (!tail && !(await call('log', `${base}/log?offset=${CHUNK.length}&reservation_id=${rid}`, CHUNK, false))) return;
    const fin = simFinish(t.reservation_id, this.cfg.taskMs, tail);
    this.finishing.add(t.id);
    const finished = await call('finish', `${base}/${fin.action}`, fin.body, true).finally(() => this.finishing.delete(t.id));
    if (!finished) return;
    this.mark.completed++;
    this.completedTotal++;
    this.finishedTimes.set(t.id, (this.finishedTimes.get(t.id) ?? 0) + 1);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
      this.ctl.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}
