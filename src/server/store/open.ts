// The store the config asks for: PostgreSQL when a database URL is set (replicas share it),
// otherwise the embedded SQLite file in the data dir (the zero-config default).
import type { ServerConfig } from '../../config/server.js';
import type { LogStore } from './log-appends.js';
import { LogFiles } from './logs.js';
import { FilePackages, type PackageStore } from './packages.js';
import type { Store } from './ports.js';
import { openPostgresStore } from './postgres/index.js';
import { PgLogs } from './postgres/logs.js';
import { PgPackages } from './postgres/packages.js';
import { openSqliteStore } from './sqlite/index.js';

export type StoreKind = 'sqlite' | 'postgres';

export function storeKind(config: ServerConfig): StoreKind {
  return config.database === undefined ? 'sqlite' : 'postgres';
}

export async function openStore(config: ServerConfig, signal: AbortSignal): Promise<Store> {
  if (config.database === undefined) return openSqliteStore(config.dataDir);
  return openPostgresStore({ url: config.database.url, poolMax: config.database.poolMax, statementTimeoutMs: config.database.statementTimeoutMs }, signal);
}

/** The store with the task logs and code packages that go with it (files beside SQLite, rows in PostgreSQL). */
export interface Storage {
  readonly store: Store;
  readonly logs: LogStore;
  readonly packages: PackageStore;
}

export async function openStorage(config: ServerConfig, signal: AbortSignal): Promise<Storage> {
  if (config.database === undefined) {
    return { store: await openStore(config, signal), logs: new LogFiles(config.dataDir, config.maxLogBytes), packages: new FilePackages(config.dataDir) };
  }
  const store = await openPostgresStore({ url: config.database.url, poolMax: config.database.poolMax, statementTimeoutMs: config.database.statementTimeoutMs }, signal);
  return { store, logs: new PgLogs(store.db, config.maxLogBytes), packages: new PgPackages(store.db) };
}
