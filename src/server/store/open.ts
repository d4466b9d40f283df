// The store the config asks for: PostgreSQL when a database URL is set (replicas share it),
// otherwise the embedded SQLite file in the data dir (the zero-config default).
import type { ServerConfig } from '../../config/server.js';
import type { Logger } from '../../log.js';
import type { LogStore } from './log-appends.js';
import { LogFiles } from './logs.js';
import { FilePackages, type PackageStore } from './packages.js';
import type { Store } from './ports.js';
import { openPostgresStore, type PostgresStoreOptions } from './postgres/index.js';
import { PgLogs } from './postgres/logs.js';
import { PgPackages } from './postgres/packages.js';
import { openSqliteStore } from './sqlite/index.js';

export type StoreKind = 'sqlite' | 'postgres';

export function storeKind(config: ServerConfig): StoreKind {
  return config.database === undefined ? 'sqlite' : 'postgres';
}

/** `log`: where a PostgreSQL store says that the database stopped or resumed answering. */
export async function openStore(config: ServerConfig, signal: AbortSignal, log?: Logger): Promise<Store> {
  if (config.database === undefined) return openSqliteStore(config.dataDir);
  return openPostgresStore(postgresOptions(config.database, log), signal);
}

function postgresOptions(database: NonNullable<ServerConfig['database']>, log: Logger | undefined): PostgresStoreOptions {
  return {
    url: database.url,
    poolMax: database.poolMax,
    statementTimeoutMs: database.statementTimeoutMs,
    ...(log === undefined
      ? {}
      : {
          onReachability: (up: boolean) => {
            // Fixed sentences: the URL (a password) and the driver's words stay out of the log.
            if (up) log.info('PostgreSQL answers again: requests are served');
            else log.warn({ code: 'ERR_STORE_UNAVAILABLE' }, 'PostgreSQL stopped answering: requests that need it get 503 until it answers');
          },
        }),
  };
}

/** The store with the task logs and code packages that go with it (files beside SQLite, rows in PostgreSQL). */
export interface Storage {
  readonly store: Store;
  readonly logs: LogStore;
  readonly packages: PackageStore;
}

export async function openStorage(config: ServerConfig, signal: AbortSignal, log?: Logger): Promise<Storage> {
  if (config.database === undefined) {
    return { store: await openStore(config, signal), logs: new LogFiles(config.dataDir, config.maxLogBytes), packages: new FilePackages(config.dataDir) };
  }
  const store = await openPostgresStore(postgresOptions(config.database, log), signal);
  return { store, logs: new PgLogs(store.db, config.maxLogBytes), packages: new PgPackages(store.db) };
}
