// The log shipper against a real iron-api: several chunks in flight, exact bytes in the stored log
// (nothing lost or doubled) when chunks overtake each other, when the server already holds part of
// the output (a lost answer), and when overtaking chunks are refused and the shipper must resync.
import { randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunnerClient, type RunnerClient } from '../../src/api/index.js';
import { createLogger, silentLogger, type Logger } from '../../src/log.js';
import { LogShipper } from '../../src/runner/log-shipper.js';
import { call, queue, registerCode, reserve, runnerPath, startTestServer, type TestServer } from '../server/helpers.js';

const RETRY = { maxAttempts: Infinity, baseDelayMs: 20, maxDelayMs: 200 };

let s: TestServer;
let spoolRoot: string;
beforeAll(async () => {
  s = await startTestServer();
  await registerCode(s, 'ship');
  spoolRoot = await mkdtemp(join(tmpdir(), 'iron-shipper-test-'));
});
afterAll(async () => {
  await s.close();
  await rm(spoolRoot, { recursive: true, force: true });
});

async function reserved(): Promise<{ id: string; rid: string }> {
  const [id] = await queue(s, [{ code_name: 'ship', payload: '', cluster: s.cid }]);
  const t = (await reserve(s, 1, 0, `shipper-${randomBytes(3).toString('hex')}`))[0];
  if (id === undefined || t === undefined || t.id !== id) throw new Error('no task');
  return { id, rid: t.reservation_id };
}

async function storedLog(id: string): Promise<Buffer> {
  const res = await fetch(`${s.url}/2/projects/${s.pid}/tasks/${id}/log`, { headers: { authorization: `OAuth ${s.token}` } });
  return Buffer.from(await res.arrayBuffer());
}

/** Writes `data` in uneven pieces, as the engine's frames arrive, and closes; returns close()'s size. */
async function ship(client: RunnerClient, task: { id: string; rid: string }, data: Buffer, spoolDir: string, o: { log?: Logger; maxInFlight?: number } = {}): Promise<number> {
  const shipper = new LogShipper({
    api: client.runner,
    taskId: task.id,
    reservationId: task.rid,
    spoolDir,
    log: o.log ?? silentLogger(),
    retry: RETRY,
    maxChunkBytes: 64 * 1024,
    maxInFlight: o.maxInFlight ?? 4,
    flushIntervalMs: 20,
  });
  await shipper.open();
  try {
    let pos = 0;
    let i = 0;
    while (pos < data.length) {
      const n = [1, 4096, 33_000, 100_000, 7][i++ % 5] ?? 1;
      await shipper.write(data.subarray(pos, pos + n));
      pos += n;
    }
    return await shipper.close(AbortSignal.timeout(30_000));
  } finally {
    await shipper.dispose();
  }
}

describe('LogShipper', () => {
  it('ships with several chunks in flight; the stored log is exactly the output', async () => {
    const client = createRunnerClient({ baseUrl: s.url, token: s.ctoken, clusterId: s.cid });
    try {
      const task = await reserved();
      const data = randomBytes(3 * 1024 * 1024 + 12_345);
      const dir = join(spoolRoot, 'a');
      expect(await ship(client, task, data, dir)).toBe(data.length);
      expect((await storedLog(task.id)).equals(data)).toBe(true);
      // dispose() removed the spool.
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('does not double bytes the server already holds (an answer that was lost)', async () => {
    const client = createRunnerClient({ baseUrl: s.url, token: s.ctoken, clusterId: s.cid });
    try {
      const task = await reserved();
      const data = randomBytes(700_000);
      const held = await call(s.url, 'POST', `${runnerPath(s, task.id, 'log')}?offset=0&reservation_id=${task.rid}`, {
        token: s.ctoken,
        body: data.subarray(0, 150_000),
        type: 'application/octet-stream',
      });
      expect(held.body).toEqual({ size: 150_000 });
      expect(await ship(client, task, data, join(spoolRoot, 'b'))).toBe(data.length);
      expect((await storedLog(task.id)).equals(data)).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('resyncs when chunks that overtook the first one are refused', async () => {
    // A proxy holds the first chunk back for longer than the API waits for it (its grace, as it has not
    // seen the first request): the chunk behind it is answered 409 with size 0, and once the first one
    // is stored the shipper resends from the server's size.
    let held = false;
    const proxy: Server = createServer((req, res) => {
      const target = new URL(s.url);
      const forward = (): void => {
        const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (ures) => {
          res.writeHead(ures.statusCode ?? 502, ures.headers);
          ures.pipe(res);
        });
        up.on('error', () => res.destroy());
        req.pipe(up);
      };
      if (!held && (req.url ?? '').includes('/log?offset=0&')) {
        held = true;
        setTimeout(forward, 1_000);
      } else forward();
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const client = createRunnerClient({ baseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, token: s.ctoken, clusterId: s.cid });
    try {
      const task = await reserved();
      const data = randomBytes(1024 * 1024);
      const lines: string[] = [];
      const log = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
      expect(await ship(client, task, data, join(spoolRoot, 'c'), { log, maxInFlight: 2 })).toBe(data.length);
      expect(held).toBe(true);
      expect(lines.some((l) => l.includes('log offset resync'))).toBe(true);
      expect((await storedLog(task.id)).equals(data)).toBe(true);
    } finally {
      await client.close();
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});
