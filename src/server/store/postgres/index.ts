// The PostgreSQL store behind the store ports, for several iron-api replicas sharing one database.
// Opening it applies the schema migrations (one replica at a time) and loads the key that seals
// registry passwords (created once, shared by the replicas through the database).
import type { DeadlineStore, LeaseStore, Store } from '../ports.js';
import { SecretBox } from '../secret-box.js';
import { accountStore, clusterStore } from './accounts.js';
import { codeStore } from './codes.js';
import { PgDb, type PgOptions } from './db.js';
import { instanceStore } from './instances.js';
import { migrate } from './migrations.js';
import { PgReadySignal } from './notify.js';
import * as runner from './runner.js';
import { scheduleStore } from './schedules.js';
import { taskStore } from './tasks.js';

export interface PostgresStoreOptions extends PgOptions {
  /** How often parked reserves look anyway (the backstop of LISTEN/NOTIFY), ms. */
  readonly backstopMs?: number;
}

export interface PostgresStore extends Store {
  readonly db: PgDb;
}

export async function openPostgresStore(options: PostgresStoreOptions, signal: AbortSignal): Promise<PostgresStore> {
  const db = new PgDb(options);
  try {
    await migrate(db, signal);
    const box = SecretBox.fromKey(await secretKey(db, signal));
    const ready = new PgReadySignal(db, options.backstopMs ?? 1000);
    db.watch();
    return {
      db,
      accounts: accountStore(db, box),
      clusters: clusterStore(db),
      codes: codeStore(db),
      tasks: taskStore(db),
      leases: leaseStore(db),
      schedules: scheduleStore(db),
      deadlines: deadlineStore(db),
      instances: instanceStore(db),
      ready,
      retention: { purgeFinished: (before, limit, signal) => runner.purgeFinished(db, before, limit, signal) },
      close: async () => {
        await ready.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

async function secretKey(db: PgDb, signal: AbortSignal): Promise<Buffer> {
  await db.run(signal, "INSERT INTO secret_keys (name, key) VALUES ('credentials', $1) ON CONFLICT (name) DO NOTHING", [SecretBox.newKey()]);
  const r = await db.one(signal, "SELECT key FROM secret_keys WHERE name = 'credentials'");
  return r?.['key'] as Buffer;
}

function leaseStore(db: PgDb): LeaseStore {
  return {
    reserve: (cid, iid, n, now, until, signal) => runner.reserve(db, cid, iid, n, now, until, signal),
    heartbeat: (cid, items, until, rules, signal) => runner.heartbeat(db, cid, items, until, rules, signal),
    startTask: (cid, id, rid, now, rules, signal) => runner.startTask(db, cid, id, rid, now, rules, signal),
    finishTask: (cid, id, f, now, rules, signal) => runner.finishTask(db, cid, id, f, now, rules, signal),
    logTarget: (cid, id, rid, rules, signal) => runner.logTarget(db, cid, id, rid, rules, signal),
    setLogSize: (id, size, signal) => runner.setLogSize(db, id, size, signal),
    markLogTruncated: (id, signal) => runner.markLogTruncated(db, id, signal),
    expireLeases: (now, rules, signal) => runner.expireLeases(db, now, rules, signal),
  };
}

function deadlineStore(db: PgDb): DeadlineStore {
  return {
    promoteDue: (now, signal) => runner.promoteDue(db, now, signal),
    nextDeadline: (now, signal) => runner.nextDeadline(db, now, signal),
  };
}
