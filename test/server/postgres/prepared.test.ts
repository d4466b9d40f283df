// Statements with parameters are prepared per connection by name (store/postgres/db.ts). A column
// added under a prepared SELECT * (another replica's migration during a rolling upgrade) makes
// PostgreSQL refuse the cached plan (0A000): the call runs again on a fresh connection instead of
// failing, in a transaction and as a single statement.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDb } from '../../../src/server/store/postgres/db.js';
import { startPostgres, type Postgres } from '../../helpers/postgres.js';

const S = new AbortController().signal;

describe('prepared statements on PostgreSQL', () => {
  let pg: Postgres;
  let db: PgDb;

  beforeAll(async () => {
    pg = await startPostgres();
    db = new PgDb({ url: await pg.createDatabase('prepared'), poolMax: 1, statementTimeoutMs: 10_000 });
    await db.run(S, 'CREATE TABLE things (id text PRIMARY KEY, n integer NOT NULL)');
    await db.run(S, 'INSERT INTO things (id, n) VALUES ($1, $2)', ['a', 1]);
  }, 60_000);

  afterAll(async () => {
    await db?.close();
    await pg?.stop();
  });

  it('a SELECT * prepared before a column was added still answers, with the new column', async () => {
    const select = 'SELECT * FROM things WHERE id = $1';
    expect(await db.one(S, select, ['a'])).toEqual({ id: 'a', n: 1 });
    expect(await db.tx(S, (q) => q.one(select, ['a']))).toEqual({ id: 'a', n: 1 });
    await db.run(S, "ALTER TABLE things ADD COLUMN label text NOT NULL DEFAULT 'x'");
    expect(await db.one(S, select, ['a'])).toEqual({ id: 'a', n: 1, label: 'x' });
    await db.run(S, 'ALTER TABLE things ADD COLUMN more integer');
    expect(await db.tx(S, (q) => q.one(select, ['a']))).toEqual({ id: 'a', n: 1, label: 'x', more: null });
  });
});
