// Wake-ups between replicas over LISTEN/NOTIFY. NOTIFY serialises committing transactions on a
// global lock, so it is never sent inside a hot transaction: what becomes ready is coalesced for a
// few milliseconds and sent as one pg_notify on its own connection. Each replica LISTENs on one
// dedicated connection, reconnecting after a loss; a notification lost meanwhile is covered by the
// backstop (parked reserves look every backstopMs anyway), so a task is never stranded.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ReadySignal } from '../ports.js';
import type { ReadyCount } from '../records.js';
import type { PgDb } from './db.js';

export const READY_CHANNEL = 'iron_ready';
const COALESCE_MS = 5;
/** A notification payload is at most 8000 bytes; a batch over this many clusters is split. */
const CLUSTERS_PER_NOTIFY = 150;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;
/** A count stands for "that many reserves may look"; more than this is "all of them". */
const MAX_COUNT = 1_000_000;

interface Payload {
  readonly r: string;
  readonly c: Record<string, number>;
}

export class PgReadySignal implements ReadySignal {
  readonly backstopMs: number;
  private readonly replica = randomBytes(8).toString('hex');
  private readonly pending = new Map<string, number>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly subscribers = new Set<(ready: readonly ReadyCount[]) => void>();
  private listener: pg.Client | undefined;
  private reconnectMs = RECONNECT_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly lifetime = new AbortController();
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: PgDb,
    backstopMs: number,
  ) {
    this.backstopMs = backstopMs;
  }

  publish(ready: readonly ReadyCount[]): void {
    if (this.closed) return;
    for (const r of ready) if (r.count > 0) this.pending.set(r.clusterId, Math.min(MAX_COUNT, (this.pending.get(r.clusterId) ?? 0) + r.count));
    if (this.pending.size === 0 || this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.sending = this.sending.then(() => this.flush());
    }, COALESCE_MS);
  }

  private async flush(): Promise<void> {
    const all = [...this.pending];
    this.pending.clear();
    for (let i = 0; i < all.length; i += CLUSTERS_PER_NOTIFY) {
      const payload: Payload = { r: this.replica, c: Object.fromEntries(all.slice(i, i + CLUSTERS_PER_NOTIFY)) };
      try {
        await this.db.run(this.lifetime.signal, 'SELECT pg_notify($1, $2)', [READY_CHANNEL, JSON.stringify(payload)]);
      } catch {
        // The database is unreachable: the other replicas' backstop finds these tasks.
      }
    }
  }

  subscribe(cb: (ready: readonly ReadyCount[]) => void): () => void {
    this.subscribers.add(cb);
    if (this.listener === undefined && this.reconnectTimer === undefined) void this.listen();
    return () => {
      this.subscribers.delete(cb);
    };
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.db.options.url, application_name: 'iron-api-listen' });
    this.listener = client;
    const lost = (): void => {
      if (this.listener !== client) return;
      this.listener = undefined;
      void client.end().catch(() => undefined);
      this.retry();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (msg) => {
      if (msg.channel === READY_CHANNEL && msg.payload !== undefined) this.deliver(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${READY_CHANNEL}`);
      this.reconnectMs = RECONNECT_MIN_MS;
    } catch {
      lost();
    }
  }

  private retry(): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    const wait = this.reconnectMs;
    this.reconnectMs = Math.min(RECONNECT_MAX_MS, this.reconnectMs * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.listen();
    }, wait);
    this.reconnectTimer.unref();
  }

  private deliver(raw: string): void {
    let p: Payload;
    try {
      p = JSON.parse(raw) as Payload;
    } catch {
      return;
    }
    if (p.r === this.replica || typeof p.c !== 'object' || p.c === null) return;
    const ready: ReadyCount[] = [];
    for (const [clusterId, count] of Object.entries(p.c)) if (typeof count === 'number' && count > 0) ready.push({ clusterId, count });
    if (ready.length === 0) return;
    for (const cb of this.subscribers) cb(ready);
  }

  /** Sends what is still pending, then ends the listener. */
  async close(): Promise<void> {
    if (this.flushTimer !== undefined) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      this.sending = this.sending.then(() => this.flush());
    }
    await this.sending;
    this.closed = true;
    this.lifetime.abort();
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => undefined);
  }
}
