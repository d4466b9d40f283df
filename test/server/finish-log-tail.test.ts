// A finish that carries the last bytes of the task's output (finish-with-log, docs/protocol.md):
// appended as a log append would be (fenced, ordered, capped, idempotent), before the task ends; an
// offset that is not the stored size is a 409 with the size and leaves the task running. The plain
// finish takes no bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FINISH_LOG_BYTES } from '../../src/protocol/limits.js';
import { appendLog, call, getTask, queue, registerCode, runnerPath, startTestServer, type Res, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function server(overrides: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const s = await startTestServer(overrides);
  servers.push(s);
  await registerCode(s, 'tail');
  return s;
}

/** Queues one task and reserves it; returns it with the reserve answer's tail limit. */
async function reserved(s: TestServer): Promise<{ id: string; rid: string; maxTail: unknown }> {
  const [id] = await queue(s, [{ code_name: 'tail', payload: '', cluster: s.cid }]);
  const r = await call<{ tasks: { id: string; reservation_id: string }[]; finish_log_max_bytes?: number }>(s.url, 'POST', `/2/clusters/${s.cid}/runner/reserve`, {
    token: s.ctoken,
    json: { instance_id: 'tail-runner', n: 1, wait: 0 },
  });
  const t = r.body.tasks[0];
  if (id === undefined || t?.id !== id) throw new Error(`no task: ${r.text}`);
  const start = await call(s.url, 'POST', runnerPath(s, id, 'start'), { token: s.ctoken, json: { reservation_id: t.reservation_id } });
  expect(start.status).toBe(200);
  return { id, rid: t.reservation_id, maxTail: r.body.finish_log_max_bytes };
}

function finish(s: TestServer, id: string, rid: string, extra: Record<string, unknown>): Promise<Res> {
  const path = runnerPath(s, id, 'log_tail' in extra ? 'finish-with-log' : 'finish');
  return call(s.url, 'POST', path, { token: s.ctoken, json: { reservation_id: rid, status: 'complete', exit_code: 0, ...extra } });
}

const tail = (offset: number, text: string): { log_tail: { offset: number; data: string } } => ({ log_tail: { offset, data: Buffer.from(text).toString('base64') } });

/** The stored log; undefined when none was ever written (404). */
async function storedLog(s: TestServer, id: string): Promise<string | undefined> {
  const r = await call(s.url, 'GET', `/2/projects/${s.pid}/tasks/${id}/log`, { token: s.token });
  if (r.status === 404) return undefined;
  expect(r.status).toBe(200);
  return r.text;
}

let s: TestServer;
beforeAll(async () => {
  s = await server();
});

describe('finish with a log tail', () => {
  it('is offered in reserve answers and appended after the earlier chunks; a repeated finish adds nothing', async () => {
    const t = await reserved(s);
    expect(t.maxTail).toBe(MAX_FINISH_LOG_BYTES);
    expect((await appendLog(s, t.id, t.rid, 0, 'first line\n')).status).toBe(200);
    const body = { log_size: 20, ...tail(11, 'last line') };
    const done = await finish(s, t.id, t.rid, body);
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ msg: 'Finished', status: 'complete' });
    // The answer was lost, say: the runner sends the same finish again.
    expect((await finish(s, t.id, t.rid, body)).status).toBe(200);
    expect(await storedLog(s, t.id)).toBe('first line\nlast line');
    expect(await getTask(s, t.id)).toMatchObject({ status: 'complete', log_size: 20 });
  });

  it('is the whole log of a task that printed little, with no log request at all', async () => {
    const t = await reserved(s);
    expect((await finish(s, t.id, t.rid, { log_size: 3, ...tail(0, 'hi\n') })).status).toBe(200);
    expect(await storedLog(s, t.id)).toBe('hi\n');
  });

  it('refuses an offset that is not the stored size with 409 and the size, and leaves the task running', async () => {
    const t = await reserved(s);
    expect((await appendLog(s, t.id, t.rid, 0, 'abc')).status).toBe(200);
    const gap = await finish(s, t.id, t.rid, { log_size: 9, ...tail(5, 'tail') });
    expect(gap.status).toBe(409);
    expect(gap.body).toMatchObject({ size: 3 });
    expect((await getTask(s, t.id))['status']).toBe('running');
    // The runner ships from where the API is, then finishes.
    expect((await finish(s, t.id, t.rid, { log_size: 7, ...tail(3, 'tail') })).status).toBe(200);
    expect(await storedLog(s, t.id)).toBe('abctail');
  });

  it('refuses a superseded reservation with 409 (no size) and writes none of its bytes', async () => {
    const t = await reserved(s);
    const stale = await finish(s, t.id, 'aaaaaaaaaaaaaaaaaaaaaaaa', { log_size: 4, ...tail(0, 'junk') });
    expect(stale.status).toBe(409);
    expect(stale.body['size']).toBeUndefined();
    expect(await storedLog(s, t.id)).toBeUndefined();
    expect((await finish(s, t.id, t.rid, {})).status).toBe(200);
  });

  it('refuses more bytes than offered, and data that is not padded base64, with 400 (the task stays running)', async () => {
    const t = await reserved(s);
    const big = Buffer.alloc(MAX_FINISH_LOG_BYTES + 1, 0x61).toString('base64');
    const tooBig = await finish(s, t.id, t.rid, { log_tail: { offset: 0, data: big } });
    expect(tooBig.status).toBe(400);
    for (const data of ['aGk', 'a$b=', 'aG=k']) {
      const bad = await finish(s, t.id, t.rid, { log_tail: { offset: 0, data } });
      expect(bad.status, data).toBe(400);
    }
    expect((await finish(s, t.id, t.rid, { log_tail: { offset: -1, data: '' } })).status).toBe(400);
    expect((await getTask(s, t.id))['status']).toBe('running');
    expect(await storedLog(s, t.id)).toBeUndefined();
  });
});

describe('the plain finish', () => {
  it('takes no log tail: the field is ignored there, as a replica before finish-with-log ignores it', async () => {
    const t = await reserved(s);
    const r = await call(s.url, 'POST', runnerPath(s, t.id, 'finish'), { token: s.ctoken, json: { reservation_id: t.rid, status: 'complete', ...tail(0, 'lost') } });
    expect(r.status).toBe(200);
    expect(await storedLog(s, t.id)).toBeUndefined();
  });

  it('finish-with-log needs its tail', async () => {
    const t = await reserved(s);
    const r = await call(s.url, 'POST', runnerPath(s, t.id, 'finish-with-log'), { token: s.ctoken, json: { reservation_id: t.rid, status: 'complete' } });
    expect(r.status).toBe(400);
    expect((await getTask(s, t.id))['status']).toBe('running');
  });
});

describe('finish with a log tail past the limits', () => {
  it('keeps the bytes up to the log cap and marks the log truncated', async () => {
    const capped = await server({ maxLogBytes: 1024 });
    const t = await reserved(capped);
    const first = 'x'.repeat(1020);
    expect((await appendLog(capped, t.id, t.rid, 0, first)).status).toBe(200);
    expect((await finish(capped, t.id, t.rid, { log_size: 1026, ...tail(1020, 'abcdef') })).status).toBe(200);
    expect(await storedLog(capped, t.id)).toBe(`${first}abcd`);
    expect(await getTask(capped, t.id)).toMatchObject({ status: 'complete', log_truncated: true });
  });

  it('is not offered, and is refused, when MAX_BODY_SIZE leaves no room for it', async () => {
    const small = await server({ maxBodyBytes: 4096 });
    const t = await reserved(small);
    expect(t.maxTail).toBeUndefined();
    expect((await finish(small, t.id, t.rid, tail(0, 'x'))).status).toBe(400);
    expect((await finish(small, t.id, t.rid, {})).status).toBe(200);
  });
});
