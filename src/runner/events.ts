// The runner's typed lifecycle events (graphile-worker style). The runner, its task runs and its
// helpers only emit; the log and the metrics are subscribers, and tests wait on events rather than
// on log text. Each event's name is stable: the log subscriber writes it as the `event` field, so a
// test driving a runner process matches on the name, never on the human message.
import { EventEmitter } from 'node:events';

export type TaskEndStatus = 'complete' | 'error' | 'cancelled' | 'killed' | 'timeout';
export type GiveBackWhy = 'drain' | 'runner restarted' | 'engine' | 'transient' | (string & {});

export interface RunnerEventMap {
  /** GET /runner/cluster succeeded: the runner starts polling. */
  'api.connected': { clusterId: string; clusterName: string; api: string };
  /** A startup or reserve call failed; `auth` when the API refused the credentials. */
  'api.failed': { phase: 'cluster' | 'reserve'; code: string; reason: string; attempt: number; auth: boolean; api: string };
  /** API_URL lists replicas: calls moved from `from` to `to` because `from` failed (`reason`: errno or `HTTP 503`). */
  'api.failover': { from: string; to: string; reason: string };
  'endpoints.listening': { addr: string };
  'engine.waiting': { code: string; reason: string; attempt: number; engine: string };
  'engine.down': Record<string, never>;
  'engine.up': Record<string, never>;
  /** The engine answers again, but leftovers of tasks that ended while it was away could not be removed. */
  'engine.reap_failed': { code: string };
  'config.warning': { what: 'cluster_memory' | 'jobs_memory'; detail: Record<string, string | number> };
  /** `codeName` and `attempt` label every later line of this task in the log. */
  'task.reserved': { taskId: string; reservationId: string; image: string; codeName: string; attempt: number };
  /** The task never ran: bad payload, unusable code package, reservation gone before start. */
  'task.refused': { taskId: string; code: string; why: string };
  'task.starting': { taskId: string };
  'task.stopping': { taskId: string; reason: string };
  /** The outcome was delivered to the API (status as reported). */
  'task.finished': { taskId: string; status: TaskEndStatus; reason: string; exitCode: number | null; durationMs: number; logBytes: number; ageMs: number };
  /** The run ended without a report: the task is no longer ours (lost, fenced, superseded). */
  'task.unreported': { taskId: string; reason: string };
  'task.report_failed': { taskId: string; status: TaskEndStatus; code: string };
  'task.given_back': { taskId: string; why: GiveBackWhy };
  'task.give_back_failed': { taskId: string; code: string };
  'task.fenced': { taskId: string };
  /** A bug or an unexpected failure inside the runner while running this task. */
  'task.crashed': { taskId: string; err: Error };
  /** The slot the task held is free again (container and input removed). */
  'task.released': { taskId: string };
  'heartbeat.failed': { code: string; tasks: number };
  /** The daemon validated its config and is about to wait for the engine (what it will run with). */
  'runner.starting': {
    version: string;
    instanceId: string;
    clusterId: string;
    api: string;
    concurrency: number;
    concurrencyFrom: 'memory' | 'CONCURRENCY';
    memoryPerJob: string;
    jobsMemory: string;
    encryptedPayloads: boolean;
  };
  /** SIGTERM/SIGINT: the first drains, a later one gives running tasks back now. */
  'runner.signal': { signal: string; count: number };
  'runner.draining': { running: number; drainTimeoutMs: number };
  /** Running tasks are stopped and handed back to the queue (drain timeout, second signal). */
  'runner.giving_back': { tasks: string[]; why: string };
  'runner.drained': Record<string, never>;
  'runner.stopped': Record<string, never>;
  'image.pulled': { image: string; ms: number };
  /** The image cache (IMAGE_CACHE_SIZE) removed least recently used images it had pulled. */
  'image.evicted': { removed: string[]; remainingBytes: number; limitBytes: number };
  'image.warmed': { image: string; projectId: string; ms: number };
  /** `reason` when the pull failed, `code` when the warm-up itself threw. */
  'image.warm_failed': { image: string; projectId: string; code?: string; reason?: string };
  'code.downloaded': { sha256: string; bytes: number };
  'code.evicted': { sha256: string; bytes: number };
  'code.evict_failed': { sha256: string; err: Error };
}

export type RunnerEventName = keyof RunnerEventMap;
type Listener<K extends RunnerEventName> = (event: RunnerEventMap[K]) => void;
/** Sees every event; `name` tells which (narrow on it to read the payload). */
export type AnyListener = <K extends RunnerEventName>(name: K, event: RunnerEventMap[K]) => void;

/**
 * A typed emitter that never lets a subscriber break the emitter: a listener that throws is reported
 * once through `onListenerError` and the remaining listeners still run.
 */
export class RunnerEvents {
  private readonly ee = new EventEmitter();
  private readonly any = new Set<AnyListener>();

  constructor(private readonly onListenerError: (err: unknown, event: RunnerEventName) => void = () => undefined) {
    // Subscribers are the log, the metrics and tests; more than the default 10 is legitimate.
    this.ee.setMaxListeners(100);
  }

  emit<K extends RunnerEventName>(name: K, event: RunnerEventMap[K]): void {
    for (const l of this.ee.listeners(name) as Listener<K>[]) {
      try {
        l(event);
      } catch (err) {
        this.onListenerError(err, name);
      }
    }
    for (const l of [...this.any]) {
      try {
        l(name, event);
      } catch (err) {
        this.onListenerError(err, name);
      }
    }
  }

  /** Every event, in emit order (the log writes each one; tests record them). */
  onAny(listener: AnyListener): () => void {
    this.any.add(listener);
    return () => {
      this.any.delete(listener);
    };
  }

  on<K extends RunnerEventName>(name: K, listener: Listener<K>): () => void {
    this.ee.on(name, listener);
    return () => this.ee.off(name, listener);
  }

  /** Resolves with the next event of this name that matches (tests; aborted by `signal`). */
  next<K extends RunnerEventName>(name: K, match: (e: RunnerEventMap[K]) => boolean = () => true, signal?: AbortSignal): Promise<RunnerEventMap[K]> {
    return new Promise((resolve, reject) => {
      const off = this.on(name, (e) => {
        if (!match(e)) return;
        off();
        signal?.removeEventListener('abort', onAbort);
        resolve(e);
      });
      const onAbort = (): void => {
        off();
        reject(signal?.reason instanceof Error ? signal.reason : new Error(`aborted waiting for ${name}`));
      };
      if (signal?.aborted === true) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
