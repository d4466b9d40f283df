// Code package zips in PostgreSQL, in chunks of at most 1 MiB (bytea rows), so every replica serves
// every revision's zip. Written in one transaction (a half-stored zip is never visible), read a
// chunk at a time.
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { PackageBlob, PackageStore } from '../packages.js';
import type { PgDb } from './db.js';

const CHUNK_BYTES = 1024 * 1024;

export class PgPackages implements PackageStore {
  constructor(private readonly db: PgDb) {}

  async put(historyId: string, path: string, signal: AbortSignal): Promise<void> {
    await this.db.tx(signal, async (q) => {
      await q.run('DELETE FROM code_package_chunks WHERE history_id = $1', [historyId]);
      let n = 0;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async (): Promise<void> => {
        if (pendingBytes === 0) return;
        await q.run('INSERT INTO code_package_chunks (history_id, n, bytes) VALUES ($1, $2, $3)', [historyId, n++, Buffer.concat(pending)]);
        pending = [];
        pendingBytes = 0;
      };
      for await (const b of createReadStream(path, { highWaterMark: CHUNK_BYTES, signal })) {
        const buf = b as Buffer;
        pending.push(buf);
        pendingBytes += buf.length;
        if (pendingBytes >= CHUNK_BYTES) await flush();
      }
      await flush();
    });
    await rm(path, { force: true });
  }

  async get(historyId: string, signal: AbortSignal): Promise<PackageBlob | undefined> {
    const r = await this.db.one(signal, 'SELECT COUNT(*) AS chunks, COALESCE(SUM(length(bytes)), 0) AS size FROM code_package_chunks WHERE history_id = $1', [historyId]);
    const chunks = Number(r?.['chunks'] ?? 0);
    if (chunks === 0) return undefined;
    const db = this.db;
    async function* read(s: AbortSignal): AsyncGenerator<Buffer> {
      for (let n = 0; n < chunks; n++) {
        const row = await db.one(s, 'SELECT bytes FROM code_package_chunks WHERE history_id = $1 AND n = $2', [historyId, n]);
        if (row === undefined) return;
        yield row['bytes'] as Buffer;
      }
    }
    return { size: Number(r?.['size'] ?? 0), stream: (s) => Readable.from(read(s ?? signal), { objectMode: false }) };
  }
}
