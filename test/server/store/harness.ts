// Both stores behind the same ports for the parameterised store suite: `open()` gives a fresh,
// empty store; `replica()` a second store on the same data (another SQLite connection to the same
// file, or another pool on the same PostgreSQL database: a second iron-api replica).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { LogStore } from '../../../src/server/store/log-appends.js';
import { LogFiles } from '../../../src/server/store/logs.js';
import { FilePackages, type PackageStore } from '../../../src/server/store/packages.js';
import type { Store } from '../../../src/server/store/ports.js';
import type { CodeInput } from '../../../src/server/store/records.js';
import { openPostgresStore } from '../../../src/server/store/postgres/index.js';
import { PgLogs } from '../../../src/server/store/postgres/logs.js';
import { PgPackages } from '../../../src/server/store/postgres/packages.js';
import { openSqliteStore } from '../../../src/server/store/sqlite/index.js';
import { startPostgres, type Postgres } from '../../helpers/postgres.js';

export type StoreKind = 'sqlite' | 'postgres';
export const STORE_KINDS: readonly StoreKind[] = ['sqlite', 'postgres'];

export interface StoreSite {
  /** A fresh store on empty data, and a way to open more stores (replicas) on the same data. */
  open(): Promise<{ store: Store; replica: () => Promise<Store> }>;
  /** The log and package stores that go with a fresh store (logs capped at `maxLogBytes`). */
  blobs(maxLogBytes: number): Promise<{ logs: LogStore; packages: PackageStore; store: Store }>;
  close(): Promise<void>;
}

const NEVER = new AbortController().signal;

export async function storeSite(kind: StoreKind): Promise<StoreSite> {
  const opened: Store[] = [];
  const dirs: string[] = [];
  let server: Postgres | undefined;
  let n = 0;
  if (kind === 'postgres') server = await startPostgres();
  return {
    open: async () => {
      if (kind === 'sqlite') {
        const dir = await mkdtemp(join(tmpdir(), 'iron-store-'));
        dirs.push(dir);
        const make = async (): Promise<Store> => {
          const s = openSqliteStore(dir);
          opened.push(s);
          return s;
        };
        return { store: await make(), replica: make };
      }
      const url = await (server as Postgres).createDatabase(`store_${++n}`);
      const make = async (): Promise<Store> => {
        const s = await openPostgresStore({ url, poolMax: 10, statementTimeoutMs: 30_000, backstopMs: 1000 }, NEVER);
        opened.push(s);
        return s;
      };
      return { store: await make(), replica: make };
    },
    blobs: async (maxLogBytes) => {
      if (kind === 'sqlite') {
        const dir = await mkdtemp(join(tmpdir(), 'iron-blobs-'));
        dirs.push(dir);
        const logs = new LogFiles(dir, maxLogBytes);
        await logs.init();
        await mkdir(join(dir, 'code'));
        const store = openSqliteStore(dir);
        opened.push(store);
        return { logs, packages: new FilePackages(dir), store };
      }
      const url = await (server as Postgres).createDatabase(`blobs_${++n}`);
      const store = await openPostgresStore({ url, poolMax: 10, statementTimeoutMs: 30_000 }, NEVER);
      opened.push(store);
      return { logs: new PgLogs(store.db, maxLogBytes), packages: new PgPackages(store.db), store };
    },
    close: async () => {
      for (const s of opened.splice(0)) await s.close();
      for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
      await server?.stop();
    },
  };
}

/** An image-only code registration of `name`. */
export function codeInput(projectId: string, name: string, over: Partial<CodeInput> = {}): CodeInput {
  return {
    projectId,
    name,
    image: 'alpine:3',
    command: 'echo hi',
    envVars: { A: '1' },
    config: '',
    runtime: 'image',
    fileName: '',
    checksum: '',
    codeSize: 0,
    sha256: '',
    defaultPriority: null,
    maxConcurrency: null,
    retries: 0,
    retriesDelay: 0,
    ...over,
  };
}
