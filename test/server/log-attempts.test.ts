// A task that runs again (its runner was lost, or gave it back) keeps the earlier attempt's output,
// and the new attempt's log offsets start at 0 again without any of its bytes being taken for repeats.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
