// The store the config asks for: PostgreSQL when a database URL is set (replicas share it),
// otherwise the embedded SQLite file in the data dir (the zero-config default).
import type { ServerConfig } from '../../config/server.js';
import type { Store } from './ports.js';
import { openPostgresStore } from './postgres/index.js';
import { openSqliteStore } from './sqlite/index.js';

export type StoreKind = 'sqlite' | 'postgres';

export function storeKind(config: ServerConfig): StoreKind {
  return config.database === undefined ? 'sqlite' : 'postgres';
}

export async function openStore(config: ServerConfig, signal: AbortSignal): Promise<Store> {
  if (config.database === undefined) return openSqliteStore(config.dataDir);
  return openPostgresStore({ url: config.database.url, poolMax: config.database.poolMax, statementTimeoutMs: config.database.statementTimeoutMs }, signal);
}
