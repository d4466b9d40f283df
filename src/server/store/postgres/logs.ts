// Task logs in PostgreSQL, so replicas share nothing but the database: one row per stored chunk at
// its byte offset in the whole log, plus a task_logs row with the size and the current writer. The
// semantics are those of the file store (logs.ts): offset-checked appends from the start of the
// current reservation's output, a separator line before a new attempt's output, the cap. One
// append is one transaction holding the task_logs row lock, so appends from two replicas to one
// task apply one after the other; within a replica they are also ordered by log-appends.ts.
import { Readable } from 'node:stream';
import { attemptSeparator, dropTail, OrderedAppends, plan, type AppendResult, type Chunk, type LogStore, type Writer } from '../log-appends.js';
import type { OrderLimits } from '../log-order.js';
import type { PgDb } from './db.js';

/**
 * The writer's chunk at exactly the end of its output, under the cap ($5, null for none): the chunk
 * row and the new total in one statement; no row when any condition fails.
 */
const APPEND_AT_END = `WITH u AS (
    UPDATE task_logs SET total = total + $4::bigint
    WHERE task_id = $1 AND reservation_id = $2 AND total - base = $3::bigint AND ($5::bigint IS NULL OR total + $4::bigint <= $5::bigint)
    RETURNING total, base),
  i AS (INSERT INTO task_log_chunks (task_id, "offset", bytes) SELECT $1, total - $4::bigint, $6 FROM u)
  SELECT total, base FROM u`;

/**
 * A task's first chunk, at offset 0 of a log that has no row yet (under the cap, checked by the
 * caller): the log row, naming its writer, and the chunk in one statement. No row when the log exists
 * already (another attempt's output, or this chunk delivered twice): the paths below decide then.
 */
const FIRST_APPEND = `WITH l AS (
    INSERT INTO task_logs (task_id, reservation_id, base, total) VALUES ($1, $2, 0, $3::bigint) ON CONFLICT (task_id) DO NOTHING RETURNING total, base),
  i AS (INSERT INTO task_log_chunks (task_id, "offset", bytes) SELECT $1, 0, $4 FROM l)
  SELECT total, base FROM l`;

/** Chunks read per query while streaming a log. */
const STREAM_PAGE = 8;

export class PgLogs implements LogStore {
  private readonly appends: OrderedAppends;
  private readonly lifetime = new AbortController();

  constructor(
    private readonly db: PgDb,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
    limits?: OrderLimits,
  ) {
    this.appends = new OrderedAppends((taskId, writer, offset, chunk) => this.appendNow(taskId, writer, offset, chunk), limits);
  }

  enter(taskId: string): () => void {
    return this.appends.enter(taskId);
  }

  async init(): Promise<void> {
    // The tables are the store's migrations.
  }

  async size(taskId: string): Promise<number | undefined> {
    const r = await this.db.one(this.lifetime.signal, 'SELECT total FROM task_logs WHERE task_id = $1', [taskId]);
    return r === undefined ? undefined : Number(r['total']);
  }

  append(taskId: string, writer: Writer, offset: number, parts: readonly Buffer[]): Promise<AppendResult> {
    return this.appends.append(taskId, writer, offset, parts);
  }

  private async appendNow(taskId: string, writer: Writer, offset: number, chunk: Chunk): Promise<AppendResult> {
    if (chunk.length > 0) {
      // The common case, one statement and no transaction: the writer's next chunk exactly at its end,
      // under the cap. The UPDATE's row lock orders it after a concurrent append (READ COMMITTED
      // re-checks the conditions on the newest row); anything else takes the full path below.
      const max = Number.isFinite(this.maxBytes) ? this.maxBytes : null;
      const bytes = Buffer.concat(chunk.parts);
      // A task's first chunk (most tasks have one or two) creates the log row in the same statement:
      // five statements less than the transaction below.
      const first = offset === 0 && (max === null || chunk.length <= max) ? await this.db.one(this.lifetime.signal, FIRST_APPEND, [taskId, writer.reservationId, chunk.length, bytes]) : undefined;
      if (first !== undefined) return { ok: true, size: Number(first['total']), total: Number(first['total']) };
      const r = await this.db.one(this.lifetime.signal, APPEND_AT_END, [taskId, writer.reservationId, offset, chunk.length, max, bytes]);
      if (r !== undefined) {
        const total = Number(r['total']);
        return { ok: true, size: total - Number(r['base']), total };
      }
    }
    return this.db.tx(this.lifetime.signal, async (q) => {
      // Creates the row or locks the one there, in one statement.
      const row = await q.one('INSERT INTO task_logs (task_id) VALUES ($1) ON CONFLICT (task_id) DO UPDATE SET task_id = EXCLUDED.task_id RETURNING total, reservation_id, base', [taskId]);
      let total = Number(row?.['total'] ?? 0);
      let base = Number(row?.['base'] ?? 0);
      const newWriter = row?.['reservation_id'] !== writer.reservationId;
      if (newWriter) {
        base = total;
        if (total > 0) {
          const last = await q.one('SELECT get_byte(bytes, length(bytes) - 1) AS b FROM task_log_chunks WHERE task_id = $1 ORDER BY "offset" DESC LIMIT 1', [taskId]);
          const sep = attemptSeparator(last === undefined ? undefined : Number(last['b']), writer.attempt);
          await q.run('INSERT INTO task_log_chunks (task_id, "offset", bytes) VALUES ($1, $2, $3)', [taskId, total, sep]);
          total += sep.length;
          base = total;
        }
      }
      const size = total - base;
      const p = plan(chunk, offset, size, total, this.maxBytes);
      const take = p.gap ? 0 : p.take;
      if (take > 0) {
        const fresh = chunk.from(p.skip);
        const bytes = Buffer.concat(take === p.want ? fresh : dropTail(fresh, take));
        await q.run('INSERT INTO task_log_chunks (task_id, "offset", bytes) VALUES ($1, $2, $3)', [taskId, total, bytes]);
      }
      // The new writer is recorded even when its chunk leaves a gap (it is the log's writer now).
      if (newWriter || take > 0) await q.run('UPDATE task_logs SET reservation_id = $2, base = $3, total = $4 WHERE task_id = $1', [taskId, writer.reservationId, base, total + take]);
      if (p.gap) return { ok: false, size, total };
      if (p.want === 0) return { ok: true, size, total };
      return { ok: true, size: size + take, total: total + take, ...(take < p.want ? { capped: true } : {}) };
    });
  }

  /** The first `size` bytes, read a few chunks at a time (a 100 MiB log is never held in memory). */
  stream(taskId: string, size: number): Readable {
    const db = this.db;
    const signal = this.lifetime.signal;
    async function* chunks(): AsyncGenerator<Buffer> {
      let at = 0;
      while (at < size) {
        const rows = await db.rows(signal, 'SELECT "offset", bytes FROM task_log_chunks WHERE task_id = $1 AND "offset" >= $2 AND "offset" < $3 ORDER BY "offset" LIMIT $4', [
          taskId,
          at,
          size,
          STREAM_PAGE,
        ]);
        if (rows.length === 0) return;
        for (const r of rows) {
          const bytes = r['bytes'] as Buffer;
          const start = Number(r['offset']);
          const end = Math.min(start + bytes.length, size);
          yield bytes.subarray(0, end - start);
          at = end;
        }
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async remove(taskIds: readonly string[]): Promise<void> {
    if (taskIds.length === 0) return;
    await this.db.tx(this.lifetime.signal, async (q) => {
      await q.run('DELETE FROM task_log_chunks WHERE task_id = ANY($1::text[])', [taskIds]);
      await q.run('DELETE FROM task_logs WHERE task_id = ANY($1::text[])', [taskIds]);
    });
  }

  close(): void {
    this.lifetime.abort();
  }
}
