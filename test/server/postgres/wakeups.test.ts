// Issue 17: one ready task wakes about one parked reserve fleet-wide, not one per replica. Two
// replicas' wake-up paths (Readiness + Wakeups + the PostgreSQL ready signal, as services.ts wires
// them) on one real database: a replica serves its own parked reserves first and publishes only what
// they do not cover, and a task made ready where no reserve is parked wakes one parked on the other
// replica through LISTEN/NOTIFY (no scheduler runs here, so no backstop sweep can stand in for it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createMetrics } from '../../../src/server/metrics.js';
import { Readiness } from '../../../src/server/services/readiness.js';
import { Scheduler } from '../../../src/server/services/scheduler.js';
import { taskRules } from '../../../src/server/services/task-rules.js';
import { Wakeups, type WakeReason } from '../../../src/server/services/wakeups.js';
import type { Store } from '../../../src/server/store/ports.js';
import type { ReadyCount } from '../../../src/server/store/records.js';
import { storeSite, type StoreSite } from '../store/harness.js';

interface Replica {
  readonly wakeups: Wakeups;
  readonly readiness: Readiness;
  /** Every batch this replica heard from the others. */
  readonly heard: ReadyCount[][];
}

const lifetime = new AbortController();

function replica(store: Store): Replica {
  const wakeups = new Wakeups();
  const metrics = createMetrics(store.tasks, lifetime.signal, wakeups);
  const scheduler = new Scheduler(store, wakeups, taskRules(3), metrics, silentLogger(), lifetime.signal);
  const heard: ReadyCount[][] = [];
  store.ready.subscribe((ready) => {
    heard.push([...ready]);
    wakeups.wakeReady(ready);
  });
  return { wakeups, readiness: new Readiness(store.tasks, store.codes, wakeups, scheduler, store.ready), heard };
}

const park = (r: Replica, cluster: string, ms: number): Promise<WakeReason> => r.wakeups.park(cluster, ms, lifetime.signal).promise;

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('wake-ups across PostgreSQL replicas', () => {
  let site: StoreSite;
  let a: Replica;
  let b: Replica;

  beforeAll(async () => {
    site = await storeSite('postgres');
    const { store, replica: open } = await site.open();
    a = replica(store);
    b = replica(await open());
    // The listeners connect asynchronously: announce on a cluster nobody parks on until both hear.
    const timer = setInterval(() => {
      a.readiness.ready([{ clusterId: 'warm-a', count: 1 }]);
      b.readiness.ready([{ clusterId: 'warm-b', count: 1 }]);
    }, 50);
    try {
      await until(() => a.heard.length > 0 && b.heard.length > 0, 20_000);
    } finally {
      clearInterval(timer);
    }
  }, 60_000);

  afterAll(async () => {
    lifetime.abort();
    await site?.close();
  });

  it('a task made ready where only the other replica has a parked reserve wakes that reserve', async () => {
    const parked = park(b, 'c1', 30_000);
    a.readiness.ready([{ clusterId: 'c1', count: 1 }]);
    expect(await parked).toBe('woken');
  });

  it("a replica's own parked reserves take its ready tasks first; only the rest is published", async () => {
    const heard0 = b.heard.length;
    const local = park(a, 'c2', 30_000);
    const remote = park(b, 'c2', 30_000);
    // Two ready tasks, one reserve parked here: this one is woken, one task is announced to b.
    a.readiness.ready([{ clusterId: 'c2', count: 2 }]);
    expect(await local).toBe('woken');
    expect(await remote).toBe('woken');
    expect(
      b.heard
        .slice(heard0)
        .flat()
        .filter((r) => r.clusterId === 'c2'),
    ).toEqual([{ clusterId: 'c2', count: 1 }]);
  });

  it('a task taken by a reserve parked where it became ready is not announced to the other replicas', async () => {
    const heard0 = b.heard.length;
    const local = park(a, 'c3', 30_000);
    const remote = park(b, 'c3', 1_500);
    a.readiness.ready([{ clusterId: 'c3', count: 1 }]);
    expect(await local).toBe('woken');
    // b's reserve is not woken for a task a's reserve takes: it runs out its own (short) wait.
    expect(await remote).toBe('timeout');
    expect(
      b.heard
        .slice(heard0)
        .flat()
        .filter((r) => r.clusterId === 'c3'),
    ).toEqual([]);
  });
});
