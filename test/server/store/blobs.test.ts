// The log store and the package store of both stores (files beside SQLite, rows in PostgreSQL):
// offset-checked appends, a new attempt's separator, the cap, range reads, removal; zips in and out.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../../src/server/ids.js';
import { silentLogger } from '../../../src/log.js';
import { Retention } from '../../../src/server/services/retention.js';
import { codeInput, STORE_KINDS, storeSite, type StoreSite } from './harness.js';

const S = new AbortController().signal;

describe.each(STORE_KINDS)('%s log and package stores', (kind) => {
  let site: StoreSite;
  let tmp: string;
  beforeAll(async () => {
    site = await storeSite(kind);
    tmp = await mkdtemp(join(tmpdir(), 'iron-blob-src-'));
  }, 120_000);
  afterAll(async () => {
    await site?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('appends by offset: repeats are acknowledged, gaps refused, a new attempt starts after a separator, the cap cuts', async () => {
    const { logs } = await site.blobs(200);
    const id = newId(Date.now());
    const w1 = { reservationId: 'r1', attempt: 1 };
    expect(await logs.size(id)).toBeUndefined();
    expect(await logs.append(id, w1, 0, [Buffer.from('hel'), Buffer.from('lo ')])).toEqual({ ok: true, size: 6, total: 6 });
    expect(await logs.append(id, w1, 0, [Buffer.from('hello ')])).toEqual({ ok: true, size: 6, total: 6 });
    expect(await logs.append(id, w1, 3, [Buffer.from('lo world')])).toEqual({ ok: true, size: 11, total: 11 });
    const gap = await logs.append(id, w1, 20, [Buffer.from('x')]);
    expect(gap.ok).toBe(false);
    expect(gap.size).toBe(11);
    const w2 = { reservationId: 'r2', attempt: 2 };
    const second = await logs.append(id, w2, 0, [Buffer.from('again\n')]);
    expect(second.ok).toBe(true);
    expect(second.size).toBe(6);
    const total = await logs.size(id);
    expect(total).toBe(second.total);
    const text = (await buffer(logs.stream(id, total ?? 0))).toString();
    expect(text).toBe('hello world\n--- iron: attempt 2 starts here (output above is from an earlier attempt) ---\nagain\n');
    expect((await buffer(logs.stream(id, 5))).toString()).toBe('hello');
    const capped = await logs.append(id, w2, 6, [Buffer.alloc(300, 0x61)]);
    expect(capped).toMatchObject({ ok: true, total: 200, capped: true });
    expect(await logs.size(id)).toBe(200);
    await logs.remove([id]);
    expect(await logs.size(id)).toBeUndefined();
    // A first chunk past the cap on a new log is cut too.
    const big = newId(Date.now());
    expect(await logs.append(big, w1, 0, [Buffer.alloc(300, 0x62)])).toEqual({ ok: true, size: 200, total: 200, capped: true });
    expect(await logs.size(big)).toBe(200);
    // A later attempt's first chunk on a log no earlier attempt wrote: no separator, it starts at 0.
    const late = newId(Date.now());
    expect(await logs.append(late, { reservationId: 'r3', attempt: 3 }, 0, [Buffer.from('late\n')])).toEqual({ ok: true, size: 5, total: 5 });
    expect(await logs.append(late, { reservationId: 'r3', attempt: 3 }, 5, [Buffer.from('more\n')])).toEqual({ ok: true, size: 10, total: 10 });
    expect((await buffer(logs.stream(late, 10))).toString()).toBe('late\nmore\n');
    await logs.remove([big, late]);
  });

  it('streams a log of many chunks in order', async () => {
    const { logs } = await site.blobs(10 * 1024 * 1024);
    const id = newId(Date.now());
    const w = { reservationId: 'r', attempt: 1 };
    const parts: Buffer[] = [];
    let at = 0;
    for (let i = 0; i < 30; i++) {
      const b = randomBytes(1000 + i * 37);
      parts.push(b);
      expect((await logs.append(id, w, at, [b])).ok).toBe(true);
      at += b.length;
    }
    const all = Buffer.concat(parts);
    expect((await buffer(logs.stream(id, all.length))).equals(all)).toBe(true);
    expect((await buffer(logs.stream(id, 2500))).equals(all.subarray(0, 2500))).toBe(true);
  });

  it('retention deletes a finished task past the keep time together with its log', async () => {
    const { logs, store } = await site.blobs(1024);
    const now = Date.now();
    const p = await store.accounts.createProject('p', now, S);
    const c = await store.clusters.createCluster({ name: 'c', ownerProjectId: p.id, memory: 1, diskSpace: 1, cpuShare: null, autoscale: {}, isDefault: false }, now, S);
    const code = await store.codes.putCode(codeInput(p.id, 'x'), now, S);
    const [t] = await store.tasks.queueTasks([{ projectId: p.id, codeId: code.id, clusterId: c.id, priority: 0, timeout: 60, delay: 0, payload: '', label: '' }], now, S);
    if (t === undefined) throw new Error('not queued');
    await logs.append(t.id, { reservationId: 'r', attempt: 1 }, 0, [Buffer.from('out')]);
    await store.tasks.cancelTask(p.id, t.id, now, S);
    const retention = new Retention(store.retention, logs, 86_400_000, silentLogger(), S);
    expect(await retention.runOnce(now + 3_600_000)).toBe(0);
    expect(await retention.runOnce(now + 2 * 86_400_000)).toBe(1);
    expect(await store.tasks.getTask(p.id, t.id, S)).toBeUndefined();
    expect(await logs.size(t.id)).toBeUndefined();
  });

  it('keeps code packages by revision and streams them back', async () => {
    const { packages } = await site.blobs(1024);
    const zip = randomBytes(2 * 1024 * 1024 + 123);
    const src = join(tmp, `${kind}.zip`);
    await writeFile(src, zip);
    const rev = newId(Date.now());
    expect(await packages.get(rev, S)).toBeUndefined();
    await packages.put(rev, src, S);
    const blob = await packages.get(rev, S);
    expect(blob?.size).toBe(zip.length);
    if (blob === undefined) throw new Error('no package');
    expect((await buffer(blob.stream())).equals(zip)).toBe(true);
  });
});
