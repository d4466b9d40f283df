// Opening the SQLite file: WAL (readers never block the writer), a busy timeout, foreign schema
// setup, and one transaction helper. DatabaseSync runs each statement to completion on the event
// loop thread, so a transaction is never interleaved with another request's.
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { IronError } from '../../../errors.js';
import { ADDED_COLUMNS, SCHEMA, SCHEMA_VERSION, V2_INDEXES, V3_INDEXES } from './schema.js';

export type Row = Record<string, SQLInputValue>;

/** Entries the read memo holds at most; past it, it starts again empty. */
const MEMO_MAX = 10_000;

export class Db {
  readonly raw: DatabaseSync;
  private readonly cache = new Map<string, StatementSync>();
  private depth = 0;
  private readonly memoMap = new Map<string, unknown>();
  private memoVersion = -1;

  constructor(path: string) {
    try {
      this.raw = new DatabaseSync(path);
      // NORMAL in WAL mode: a committed transaction survives a crash (kill -9) of the process;
      // only an OS crash/power loss may roll back the last commits.
      this.raw.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
      const version = (this.raw.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
      if (version > SCHEMA_VERSION) {
        throw new IronError('ERR_STORE', `database schema ${version} is newer than this iron-api (${SCHEMA_VERSION})`);
      }
      this.raw.exec(SCHEMA);
      for (const c of ADDED_COLUMNS) {
        const cols = this.raw.prepare(`PRAGMA table_info(${c.table})`).all() as Array<{ name: string }>;
        if (!cols.some((x) => x.name === c.column)) this.raw.exec(`ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.definition}`);
      }
      this.migrateToV2(version);
      this.raw.exec(V3_INDEXES);
      this.raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    } catch (err) {
      if (err instanceof IronError) throw err;
      throw new IronError('ERR_STORE', `cannot open the database ${path}`, { cause: err });
    }
  }

  private migrateToV2(version: number): void {
    // A version-1 database: its delayed tasks wait for the ticker like new ones.
    if (version < 2) this.raw.prepare("UPDATE tasks SET ready = 0 WHERE status = 'queued' AND available_at > ?").run(Date.now());
    this.raw.exec(V2_INDEXES);
  }

  stmt(sql: string): StatementSync {
    let s = this.cache.get(sql);
    if (s === undefined) {
      s = this.raw.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  get<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.stmt(sql).get(...params) as T | undefined;
  }

  all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.stmt(sql).all(...params) as T[];
  }

  run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.stmt(sql).run(...params).changes);
  }

  /**
   * Rows the hot paths read again and again (a code by name for every queue call, by id for every
   * finish, a revision for every reservation: 30-130 us each), kept until this connection changes
   * them (the writer calls forget()) or another connection commits anything (`iron-api token create`
   * on the same file, say): PRAGMA data_version tells, for a few microseconds per use.
   */
  memo(): Map<string, unknown> {
    const v = Number((this.stmt('PRAGMA data_version').get() as { data_version: number }).data_version);
    if (v !== this.memoVersion || this.memoMap.size >= MEMO_MAX) {
      this.memoMap.clear();
      this.memoVersion = v;
    }
    return this.memoMap;
  }

  /** Drops every memoized row: called by each write of a memoized table. */
  forget(): void {
    this.memoMap.clear();
  }

  /** Runs fn in one IMMEDIATE transaction (nested calls join the outer one). */
  tx<T>(fn: () => T): T {
    if (this.depth > 0) return fn();
    this.raw.exec('BEGIN IMMEDIATE');
    this.depth++;
    try {
      const out = fn();
      this.raw.exec('COMMIT');
      return out;
    } catch (err) {
      this.raw.exec('ROLLBACK');
      throw err;
    } finally {
      this.depth--;
    }
  }

  close(): void {
    if (!this.raw.isOpen) return;
    this.memoMap.clear();
    this.cache.clear();
    this.raw.close();
  }
}
