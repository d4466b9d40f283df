// A task that runs again (its runner was lost, or gave it back) keeps the earlier attempt's output,
// and the new attempt's log offsets start at 0 again without any of its bytes being taken for repeats.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogFiles } from '../../src/server/store/logs.js';
import { appendLog, call, getTask, queue, registerCode, reserve, runnerPath, startTestServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
  await registerCode(s, 'again');
});
afterAll(async () => {
  await s.close();
});

async function append(taskId: string, reservationId: string, offset: number, text: string): Promise<{ status: number; size: unknown }> {
  const r = await appendLog(s, taskId, reservationId, offset, text);
  return { status: r.status, size: r.body['size'] };
}

describe('task log across attempts', () => {
  it("separates attempts and never drops the new attempt's bytes", async () => {
    const [id] = await queue(s, [{ code_name: 'again', payload: '', cluster: s.cid }]);
    const first = (await reserve(s))[0];
    if (id === undefined || first === undefined) throw new Error('no task');
    expect(await append(id, first.reservation_id, 0, 'partial output of attempt 1')).toEqual({ status: 200, size: 27 });
    const back = await call(s.url, 'POST', runnerPath(s, id, 'finish'), { token: s.ctoken, json: { reservation_id: first.reservation_id, status: 'requeue' } });
    expect(back.status).toBe(200);

    const second = (await reserve(s))[0];
    if (second === undefined) throw new Error('not requeued');
    expect(second.attempt).toBe(2);
    // The new attempt starts at offset 0, and these bytes are stored, not dropped as repeats.
    expect(await append(id, second.reservation_id, 0, 'attempt 2 line\n')).toEqual({ status: 200, size: 15 });
    expect(await append(id, second.reservation_id, 0, 'attempt 2 line\n')).toEqual({ status: 200, size: 15 }); // a retry
    expect((await append(id, second.reservation_id, 99, 'gap')).status).toBe(409);
    // The superseded reservation can no longer write.
    expect((await append(id, first.reservation_id, 27, 'late')).status).toBe(409);

    const log = await call(s.url, 'GET', `/2/projects/${s.pid}/tasks/${id}/log`, { token: s.token });
    expect(log.text).toBe('partial output of attempt 1\n--- iron: attempt 2 starts here (output above is from an earlier attempt) ---\nattempt 2 line\n');
    expect((await getTask(s, id))['log_size']).toBe(Buffer.byteLength(log.text));
  });
});

describe('log files reopened (a restart: no open handle, no memory of the writer)', () => {
  const task = 'b'.repeat(24);
  const sep = (n: number): string => `\n--- iron: attempt ${n} starts here (output above is from an earlier attempt) ---\n`;

  async function withDir(fn: (fresh: () => Promise<LogFiles>) => Promise<void>): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'iron-log-reopen-'));
    try {
      await fn(async () => {
        const logs = new LogFiles(dir);
        await logs.init();
        return logs;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function text(logs: LogFiles): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of logs.stream(task, (await logs.size(task)) ?? 0)) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  }

  it('lets attempt 1 go on at its offset without a marker file, and separates a later attempt', async () => {
    await withDir(async (fresh) => {
      const one = { reservationId: 'r1', attempt: 1 };
      expect(await (await fresh()).append(task, one, 0, [Buffer.from('abc')])).toEqual({ ok: true, size: 3, total: 3 });
      // Reopened: attempt 1's next chunk continues its output (a resent one is a repeat).
      expect(await (await fresh()).append(task, one, 3, [Buffer.from('def')])).toEqual({ ok: true, size: 6, total: 6 });
      expect(await (await fresh()).append(task, one, 3, [Buffer.from('def')])).toEqual({ ok: true, size: 6, total: 6 });
      const two = { reservationId: 'r2', attempt: 2 };
      const total = 6 + sep(2).length;
      expect(await (await fresh()).append(task, two, 0, [Buffer.from('xy')])).toEqual({ ok: true, size: 2, total: total + 2 });
      expect(await (await fresh()).append(task, two, 2, [Buffer.from('z')])).toEqual({ ok: true, size: 3, total: total + 3 });
      expect(await text(await fresh())).toBe(`abcdef${sep(2)}xyz`);
    });
  });

  it('remembers a later attempt that found the log empty', async () => {
    await withDir(async (fresh) => {
      const two = { reservationId: 'r2', attempt: 2 };
      expect(await (await fresh()).append(task, two, 0, [Buffer.from('first')])).toEqual({ ok: true, size: 5, total: 5 });
      expect(await (await fresh()).append(task, two, 5, [Buffer.from('!')])).toEqual({ ok: true, size: 6, total: 6 });
      const three = { reservationId: 'r3', attempt: 3 };
      expect((await (await fresh()).append(task, three, 0, [Buffer.from('q')])).size).toBe(1);
      expect(await text(await fresh())).toBe(`first!${sep(3)}q`);
    });
  });
});
