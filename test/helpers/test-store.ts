// Which store the in-process iron-api of a test file uses (test/helpers/api.ts). SQLite by default;
// a file that calls useStore('postgres') before importing a suite runs that suite against
// PostgreSQL (test/server/postgres/*.test.ts do that for the e2e suites): one throwaway server per
// test file (startPostgres), one fresh database per iron-api, stopped when the file ends.
import { afterAll } from 'vitest';
import type { DatabaseConfig } from '../../src/config/server.js';
import { startPostgres, type Postgres } from './postgres.js';

export type TestStoreKind = 'sqlite' | 'postgres';

let kind: TestStoreKind = 'sqlite';
let server: Promise<Postgres> | undefined;
let databases = 0;

export function useStore(k: TestStoreKind): void {
  kind = k;
}

export function testStoreKind(): TestStoreKind {
  return kind;
}

/** A fresh database for one iron-api when the file runs on PostgreSQL, else undefined (SQLite). */
export async function testDatabase(): Promise<DatabaseConfig | undefined> {
  if (kind === 'sqlite') return undefined;
  server ??= startPostgres();
  const url = await (await server).createDatabase(`iron_test_${++databases}`);
  return { url, poolMax: 10, statementTimeoutMs: 30_000 };
}

afterAll(async () => {
  const s = server;
  server = undefined;
  if (s !== undefined) await (await s).stop();
});
