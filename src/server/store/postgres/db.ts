// The PostgreSQL connection pool and its one transaction helper. Every call takes the caller's
// AbortSignal: an abort while waiting for a pooled connection gives up the wait (the connection goes
// back to the pool when it arrives), an abort while a statement runs cancels it on the server
// (pg_cancel_backend from another connection) and the transaction rolls back. Statements are also
// bounded by statement_timeout, so a lock wait never hangs a request forever.
//
// A database this replica cannot reach is told apart from a failed statement: a connection refused,
// timed out or cut before anything was committed is ERR_STORE_UNAVAILABLE (a 503, so runners and
// load balancers move to another replica); a connection lost during COMMIT or a single statement
// stays ERR_STORE, because that change may or may not have been made. liveness.ts finds a database
// that stopped answering on connections that stay open (a partition).
import pg from 'pg';
import { IronError, isIronError } from '../../../errors.js';
import { Liveness } from './liveness.js';

/** A new connection that takes longer than this is given up (the server or the link is not answering). */
const CONNECT_TIMEOUT_MS = 5_000;
/** How much longer than statement_timeout the client waits for an answer before it cuts the connection. */
const READ_GRACE_MS = 5_000;

export interface PgOptions {
  readonly url: string;
  /**
   * Told when the database stops answering (false) and answers again (true), so that the server can
   * log it: the requests refused meanwhile get a 503 each, which is not logged.
   */
  readonly onReachability?: (up: boolean) => void;
  /** Connections at most in this replica's pool. */
  readonly poolMax: number;
  /** Server-side bound of one statement (ms). */
  readonly statementTimeoutMs: number;
}

type Param = string | number | boolean | null | Buffer | readonly (string | null)[] | readonly (number | null)[] | readonly boolean[];
export type Row = Record<string, unknown>;

/** One connection inside a transaction (or a single statement). */
export interface Q {
  rows(sql: string, params?: readonly Param[]): Promise<Row[]>;
  one(sql: string, params?: readonly Param[]): Promise<Row | undefined>;
  /** Rows changed. */
  run(sql: string, params?: readonly Param[]): Promise<number>;
}

export class PgDb {
  readonly pool: pg.Pool;
  private readonly liveness: Liveness;
  /** Connections checked out of the pool now: cut when the database stops answering. */
  private readonly busy = new Set<pg.PoolClient>();

  constructor(readonly options: PgOptions) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolMax,
      statement_timeout: options.statementTimeoutMs,
      // A query's lock waits are bounded by the statement timeout; an idle transaction never lingers.
      idle_in_transaction_session_timeout: Math.max(options.statementTimeoutMs * 2, 10_000),
      application_name: 'iron-api',
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // statement_timeout is enforced by the server; a server that never got the statement (a silent
      // link) is bounded here.
      query_timeout: options.statementTimeoutMs + READ_GRACE_MS,
    });
    // An idle pooled connection that dies (server restart) must not crash the process; the pool drops it.
    this.pool.on('error', () => undefined);
    // The pool listens only on idle connections: one checked out (a transaction between statements)
    // that the server ends (a restart: 57P01) would emit an unhandled 'error' and kill the process
    // (seen in test/reliability/replicas.test.ts). Its next statement fails instead.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    this.liveness = new Liveness({ url: options.url }, (up) => {
      options.onReachability?.(up);
      if (up) return;
      // Their statements fail now (ERR_STORE_UNAVAILABLE inside a transaction) instead of hanging.
      for (const c of [...this.busy]) {
        this.busy.delete(c);
        c.release(new Error('the database stopped answering'));
      }
    });
  }

  /** Starts probing the database (openPostgresStore does, once the schema is in place). */
  watch(): void {
    this.liveness.start();
  }

  /** Runs fn in one READ COMMITTED transaction; rolls back on any error or abort. */
  async tx<T>(signal: AbortSignal, fn: (q: Q) => Promise<T>): Promise<T> {
    // Rolled back, so running it again on a fresh connection is safe.
    return staleOnce(() => this.txOnce(signal, fn));
  }

  private async txOnce<T>(signal: AbortSignal, fn: (q: Q) => Promise<T>): Promise<T> {
    return this.withClient(signal, async (q) => {
      await q.run('BEGIN');
      let committing = false;
      try {
        const out = await fn(q);
        committing = true;
        await q.run('COMMIT');
        return out;
      } catch (err) {
        await q.run('ROLLBACK').catch(() => undefined);
        // A connection that died before COMMIT was sent took the transaction with it: nothing changed.
        if (!committing && isIronError(err, 'ERR_STORE') && isConnectionError(err.cause)) throw unavailable(err.cause);
        throw err;
      }
    });
  }

  /** Statements outside a transaction (each one its own), on one pooled connection. */
  async withClient<T>(signal: AbortSignal, fn: (q: Q) => Promise<T>): Promise<T> {
    const client = await this.connect(signal);
    let broken: Error | undefined;
    const onAbort = (): void => void this.cancel(client);
    signal.addEventListener('abort', onAbort, { once: true });
    const exec = async (sql: string, params?: readonly Param[]): Promise<pg.QueryResult<Row>> => {
      if (signal.aborted) throw aborted(signal);
      try {
        const name = params === undefined ? undefined : statementName(sql);
        const values = params as unknown[] | undefined;
        return await client.query<Row>(name === undefined ? { text: sql, values } : { name, text: sql, values });
      } catch (err) {
        if (signal.aborted) throw aborted(signal, err);
        // 0A000 "cached plan must not change result type": a migration (another replica's upgrade)
        // added a column under a prepared SELECT *; a fresh connection prepares it again (tx and
        // the single-statement calls retry once on one).
        if (isConnectionError(err) || sqlState(err) === '0A000') broken = err as Error;
        throw storeError(err);
      }
    };
    const q: Q = {
      rows: async (sql, params) => (await exec(sql, params)).rows,
      one: async (sql, params) => (await exec(sql, params)).rows[0],
      run: async (sql, params) => (await exec(sql, params)).rowCount ?? 0,
    };
    try {
      return await fn(q);
    } finally {
      signal.removeEventListener('abort', onAbort);
      // Released already if the liveness probe cut it (a second release throws).
      if (this.busy.delete(client)) {
        // A connection whose statement was cancelled mid-transaction or that failed is not reused.
        client.release(broken ?? (signal.aborted ? true : undefined));
      }
    }
  }

  /** A single statement, with its own connection (a failed one did nothing: it may run again). */
  rows(signal: AbortSignal, sql: string, params?: readonly Param[]): Promise<Row[]> {
    return staleOnce(() => this.withClient(signal, (q) => q.rows(sql, params)));
  }

  one(signal: AbortSignal, sql: string, params?: readonly Param[]): Promise<Row | undefined> {
    return staleOnce(() => this.withClient(signal, (q) => q.one(sql, params)));
  }

  run(signal: AbortSignal, sql: string, params?: readonly Param[]): Promise<number> {
    return staleOnce(() => this.withClient(signal, (q) => q.run(sql, params)));
  }

  private async connect(signal: AbortSignal): Promise<pg.PoolClient> {
    if (signal.aborted) throw aborted(signal);
    if (!this.liveness.reachable) throw unavailable(undefined);
    const pending = this.pool.connect();
    let onAbort: (() => void) | undefined;
    const abortedWait = new Promise<never>((_, reject) => {
      onAbort = () => reject(aborted(signal));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const client = await Promise.race([pending, abortedWait]);
      this.busy.add(client);
      return client;
    } catch (err) {
      // The wait was given up: the connection, once it comes, goes straight back.
      void pending.then((c) => c.release()).catch(() => undefined);
      if (err instanceof IronError) throw err;
      // No connection, so no statement was sent.
      throw unavailable(err);
    } finally {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    }
  }

  private async cancel(client: pg.PoolClient): Promise<void> {
    const pid = (client as unknown as { processID?: number }).processID;
    if (pid === undefined) return;
    // The cancel runs on its own short connection: the pool may be exhausted by the very query it ends.
    const c = new pg.Client({ connectionString: this.options.url, application_name: 'iron-api-cancel' });
    try {
      await c.connect();
      await c.query('SELECT pg_cancel_backend($1)', [pid]);
    } catch {
      // The statement may have finished meanwhile; the connection is discarded anyway.
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.liveness.close();
    await this.pool.end();
  }
}

/**
 * Statements with parameters are prepared once per connection under a name (pg's `{ name, text }`):
 * the server parses and plans their text once instead of per call, and the driver sends no Parse.
 * Names are given to the first MAX_NAMED distinct texts only, so a text built at run time could not
 * grow every connection's statement cache without bound (the store's texts are constants).
 */
const MAX_NAMED = 500;
const names = new Map<string, string>();

function statementName(sql: string): string | undefined {
  let name = names.get(sql);
  if (name === undefined && names.size < MAX_NAMED) {
    name = `iron_${names.size}`;
    names.set(sql, name);
  }
  return name;
}

/** Runs `once` again (on a fresh connection) if a prepared statement's cached plan went stale (0A000). */
async function staleOnce<T>(once: () => Promise<T>): Promise<T> {
  try {
    return await once();
  } catch (err) {
    if (sqlState(err) !== '0A000') throw err;
    return once();
  }
}

function aborted(signal: AbortSignal, cause?: unknown): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new IronError('ERR_STORE', 'store call aborted', cause === undefined ? undefined : { cause });
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || code.startsWith('08') || code.startsWith('57');
}

/**
 * The message is sent to the caller (a 503 body, also on the unauthenticated /healthz): it never
 * carries the driver's words, which name the database's address or user. The cause is kept for logs.
 */
function unavailable(cause: unknown): IronError {
  return new IronError('ERR_STORE_UNAVAILABLE', 'the database is not reachable from this replica', cause === undefined ? undefined : { cause });
}

/** A driver error as the store's error (no SQL text or parameters: they may carry payloads). */
function storeError(err: unknown): IronError {
  if (err instanceof IronError) return err;
  const code = (err as { code?: unknown }).code;
  const msg = err instanceof Error ? err.message : String(err);
  return new IronError('ERR_STORE', `database error${typeof code === 'string' ? ` ${code}` : ''}: ${msg}`, { cause: err });
}

/** SQLSTATE of a driver error (e.g. 23505 unique violation), if any. */
export function sqlState(err: unknown): string | undefined {
  const cause = err instanceof IronError ? (err as { cause?: unknown }).cause : err;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
