// The PostgreSQL helper itself: a server that answers, a database per test, restart and kill.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPostgres, type Postgres } from './postgres.js';

async function one(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ n: number }>('SELECT 41 + 1 AS n');
    return Number(r.rows[0]?.n);
  } finally {
    await c.end();
  }
}

describe('startPostgres', () => {
  let server: Postgres;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('answers queries, creates databases and survives restart and kill', async () => {
    expect(await one(server.url)).toBe(42);
    const url = await server.createDatabase('helper_check');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query('CREATE TABLE t (x int)');
    await c.query('INSERT INTO t VALUES (7)');
    await c.end();
    await server.restart();
    expect(await one(url)).toBe(42);
    await server.kill();
    await expect(one(server.url)).rejects.toThrow();
    await server.restart();
    const d = new pg.Client({ connectionString: url });
    await d.connect();
    const r = await d.query<{ x: number }>('SELECT x FROM t');
    await d.end();
    expect(r.rows.map((x) => x.x)).toEqual([7]);
  });
});
