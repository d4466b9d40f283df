// A throwaway PostgreSQL cluster for tests and the fleet benchmark: initdb in a temp dir (owned by the `postgres` user when
// the tests run as root, since postgres refuses to run as root), listening on a free loopback port
// and on a unix socket in that dir, fsync off (the data is thrown away anyway). Whichever major
// version is installed under /usr/lib/postgresql/*/bin is used (Debian 12 ships 15, Debian 13 17).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.js';

const run = promisify(execFile);

export interface Postgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth on loopback). */
  readonly url: string;
  /** The postmaster's pid (its backends are its children), for CPU readings; undefined while stopped. */
  readonly pid: number | undefined;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
  /** Stops (fast shutdown) and starts it again on the same port and data. */
  restart(): Promise<void>;
  /** SIGKILLs the server (a crash); restart() brings it back. */
  kill(): Promise<void>;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /**
   * Statements the server ran in database `name` since the last call (BEGIN and COMMIT included),
   * from pg_stat_statements; only when started with `{ statements: true }`.
   */
  statements(name: string): Promise<number>;
  /** The `n` statements run most often in database `name` since the last statements() call. */
  topStatements(name: string, n: number): Promise<Array<{ calls: number; query: string }>>;
}

export interface PostgresOptions {
  /** Load pg_stat_statements (the fleet benchmark counts statements per task). */
  readonly statements?: boolean;
}

/** The bin dir of the newest installed PostgreSQL, or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

interface PgUser {
  readonly uid: number;
  readonly gid: number;
}

async function postgresUser(): Promise<PgUser | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: g } = await run('id', ['-g', 'postgres']);
  return { uid: Number(stdout.trim()), gid: Number(g.trim()) };
}

export async function startPostgres(options: PostgresOptions = {}): Promise<Postgres> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)');
  const user = await postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'iron-pg-'));
  const data = join(dir, 'data');
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const asUser = user === undefined ? {} : { uid: user.uid, gid: user.gid };
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'], { ...asUser, cwd: dir });
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let proc: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const child = spawn(
      join(bin, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-h',
        '127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
        ...(options.statements === true ? ['-c', 'shared_preload_libraries=pg_stat_statements'] : []),
      ],
      { ...asUser, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      if (stderr.length < 8192) stderr += b.toString();
    });
    proc = child;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`postgres exited ${child.exitCode}: ${stderr}`);
      const c = new pg.Client({ connectionString: url });
      try {
        await c.connect();
        await c.end();
        return;
      } catch (err) {
        await c.end().catch(() => undefined);
        if (Date.now() > deadline) throw new Error(`postgres did not accept connections: ${stderr}`, { cause: err });
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const child = proc;
    proc = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    await exited;
  };

  /** One short connection for an administrative query. */
  const query = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };

  await start();
  return {
    url,
    get pid() {
      return proc?.pid;
    },
    stop: async () => {
      await halt('SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await halt('SIGINT');
      await start();
    },
    kill: async () => {
      await halt('SIGKILL');
      // A killed postmaster leaves its backends behind for a moment; they exit on their own once
      // they notice, and the next start waits for the shared memory to be free.
    },
    createDatabase: async (name: string) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      await query((c) => c.query(`CREATE DATABASE ${name}`));
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    statements: (name: string) =>
      query(async (c) => {
        await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
        const r = await c.query<{ n: string | null }>('SELECT SUM(calls) AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1', [name]);
        await c.query('SELECT pg_stat_statements_reset()');
        return Number(r.rows[0]?.n ?? 0);
      }),
    topStatements: (name: string, n: number) =>
      query(async (c) => {
        const r = await c.query<{ calls: string; query: string }>(
          'SELECT s.calls, s.query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 ORDER BY s.calls DESC LIMIT $2',
          [name, n],
        );
        return r.rows.map((row) => ({ calls: Number(row.calls), query: row.query.replace(/\s+/g, ' ') }));
      }),
  };
}
