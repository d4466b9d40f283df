// The runner's package cache on a real directory: by sha256, verified before it is stored, one
// download for concurrent tasks of the same package, least recently used first out, never a package
// in use, and what a previous run left is reused after a restart.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isIronError } from '../../src/errors.js';
import { CodeCache, type Fetch } from '../../src/runner/code-cache.js';
import { RunnerEvents } from '../../src/runner/events.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'iron-code-cache-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

function pkg(size: number): { bytes: Buffer; ref: { rev: string; size: number; sha256: string } } {
  const bytes = randomBytes(size);
  return { bytes, ref: { rev: '1', size, sha256: createHash('sha256').update(bytes).digest('hex') } };
}

/** Serves `bytes` in two chunks, counting calls. */
function server(bytes: Buffer): { fetch: Fetch; calls: () => number } {
  let n = 0;
  return {
    calls: () => n,
    fetch: async (sink) => {
      n++;
      await new Promise((r) => setTimeout(r, 20));
      await sink(
        (async function* () {
          yield bytes.subarray(0, 10);
          yield bytes.subarray(10);
        })(),
      );
    },
  };
}

const signal = (): AbortSignal => AbortSignal.timeout(10_000);

describe('CodeCache', () => {
  it('downloads once for concurrent and later uses of the same package', async () => {
    const cache = new CodeCache(dir, 10_000, new RunnerEvents());
    const p = pkg(1000);
    const s = server(p.bytes);
    const [a, b] = await Promise.all([cache.acquire(p.ref, s.fetch, signal()), cache.acquire(p.ref, s.fetch, signal())]);
    const c = await cache.acquire(p.ref, s.fetch, signal());
    expect(s.calls()).toBe(1);
    expect([a.downloaded, b.downloaded, c.downloaded].filter(Boolean)).toHaveLength(1);
    expect(a.path).toBe(path.join(dir, `${p.ref.sha256}.zip`));
    for (const x of [a, b, c]) x.release();
  });

  it('refuses bytes that do not match the sha256 or the size, and keeps nothing of them', async () => {
    const cache = new CodeCache(dir, 10_000, new RunnerEvents());
    const p = pkg(1000);
    const other = pkg(1000);
    const err = await cache.acquire(p.ref, server(other.bytes).fetch, signal()).catch((e: unknown) => e);
    expect(isIronError(err, 'ERR_CODE_CHECKSUM')).toBe(true);
    const longer = await cache.acquire(p.ref, server(Buffer.concat([p.bytes, Buffer.from('x')])).fetch, signal()).catch((e: unknown) => e);
    expect(isIronError(longer, 'ERR_CODE_CHECKSUM')).toBe(true);
    expect(await readdir(dir)).toEqual([]);
    expect(cache.has(p.ref.sha256)).toBe(false);
  });

  it('a verify hook that throws keeps the package out of the cache', async () => {
    const cache = new CodeCache(dir, 10_000, new RunnerEvents(), { verify: () => Promise.reject(new Error('unsafe')) });
    const p = pkg(100);
    await expect(cache.acquire(p.ref, server(p.bytes).fetch, signal())).rejects.toThrow('unsafe');
    expect(await readdir(dir)).toEqual([]);
  });

  it('evicts least recently used packages beyond its size, never one in use, and reuses them after a restart', async () => {
    const cache = new CodeCache(dir, 2500, new RunnerEvents());
    const [p1, p2, p3] = [pkg(1000), pkg(1000), pkg(1000)];
    const a = await cache.acquire(p1.ref, server(p1.bytes).fetch, signal());
    (await cache.acquire(p2.ref, server(p2.bytes).fetch, signal())).release();
    // p1 is in use: adding p3 must evict p2, the least recently used idle one.
    (await cache.acquire(p3.ref, server(p3.bytes).fetch, signal())).release();
    expect(cache.has(p1.ref.sha256)).toBe(true);
    expect(cache.has(p2.ref.sha256)).toBe(false);
    expect(cache.has(p3.ref.sha256)).toBe(true);
    a.release();
    expect(cache.size).toBeLessThanOrEqual(2500);

    const again = new CodeCache(dir, 2500, new RunnerEvents());
    const s = server(p3.bytes);
    const hit = await again.acquire(p3.ref, s.fetch, signal());
    expect(hit.downloaded).toBe(false);
    expect(s.calls()).toBe(0);
    hit.release();
  });
});
