import { afterEach, describe, expect, it } from 'vitest';
import { conflictSize, createRunnerClient, type FinishRequest, type RunnerClient } from '../../src/api/index.js';
import { isIronError } from '../../src/errors.js';
import { json, startFakeServer, type FakeServer } from './fake-server.js';

const CLUSTER = 'c0ffee00c0ffee00c0ffee00';
const TOKEN = 'cluster-token-7c1d';
const open: { s: FakeServer; c: RunnerClient }[] = [];

async function setup(handler: FakeServer['handler']): Promise<{ s: FakeServer; c: RunnerClient }> {
  const s = await startFakeServer(handler);
  const c = createRunnerClient({ baseUrl: s.url, token: TOKEN, clusterId: CLUSTER, retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 10 } });
  open.push({ s, c });
  return { s, c };
}

afterEach(async () => {
  for (const { s, c } of open.splice(0)) {
    await c.close();
    await s.close();
  }
});

const signal = (): AbortSignal => AbortSignal.timeout(10_000);

describe('RunnerApi', () => {
  it('getCluster accepts the documented {cluster:{...}} shape and the bare object', async () => {
    const { s, c } = await setup((_r, res, n) => json(res, 200, n === 1 ? { cluster: { id: CLUSTER, name: 'a', memory: 268435456 } } : { id: CLUSTER, name: 'b', disk_space: 1024 }));
    expect(await c.runner.getCluster(signal())).toMatchObject({ id: CLUSTER, name: 'a', memory: 268435456 });
    expect(await c.runner.getCluster(signal())).toMatchObject({ id: CLUSTER, name: 'b', disk_space: 1024 });
    expect(s.seen[0]?.url).toBe(`/2/clusters/${CLUSTER}`);
    expect(s.seen[0]?.headers.authorization).toBe(`OAuth ${TOKEN}`);
  });

  it('reserve long-polls: the answer may take the whole wait', async () => {
    const task = {
      id: 't1',
      project_id: 'p',
      code_name: 'hello',
      image: 'iron/hello',
      command: '',
      env_vars: {},
      config: '',
      payload: 'x',
      timeout: 60,
      priority: 0,
      memory: 1,
      disk: 1,
      reservation_id: 'r1',
      lease_expires_at: '2026-01-01T00:00:00Z',
      attempt: 1,
    };
    const { s, c } = await setup((_r, res) => {
      setTimeout(() => json(res, 200, { tasks: [task], heartbeat_interval_ms: 500 }), 1500);
    });
    const out = await c.runner.reserve({ instance_id: 'i-1', n: 2, wait: 2 }, signal());
    expect(out).toEqual({ tasks: [task], heartbeat_interval_ms: 500, warm: [] });
    expect(s.seen[0]?.url).toBe(`/2/clusters/${CLUSTER}/runner/reserve`);
    expect(JSON.parse(s.seen[0]?.body.toString() ?? '')).toEqual({ instance_id: 'i-1', n: 2, wait: 2 });
  });

  it('reserve rejects bad arguments before sending anything, and does not retry by default', async () => {
    const { s, c } = await setup((_r, res) => json(res, 503, {}));
    await expect(c.runner.reserve({ instance_id: 'i', n: 0, wait: 1 }, signal())).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(c.runner.reserve({ instance_id: 'i', n: 1, wait: 31 }, signal())).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(c.runner.reserve({ instance_id: 'i', n: 1, wait: 1 }, signal())).rejects.toMatchObject({ code: 'ERR_API_UNAVAILABLE' });
    expect(s.seen).toHaveLength(1);
  });

  it('heartbeat sends all tasks in one call and returns cancel/lost lists', async () => {
    const { s, c } = await setup((_r, res) => json(res, 200, { cancel: ['t2'], lost: ['t3', 7] }));
    const out = await c.runner.heartbeat(
      {
        instance_id: 'i-1',
        tasks: [
          { id: 't2', reservation_id: 'r2' },
          { id: 't3', reservation_id: 'r3' },
        ],
      },
      signal(),
    );
    expect(out).toEqual({ cancel: ['t2'], lost: ['t3'], warm: [] });
    expect(s.seen[0]?.url).toBe(`/2/clusters/${CLUSTER}/runner/heartbeat`);
  });

  it('start maps 409 to ERR_API_CONFLICT (do not run the task)', async () => {
    const { c } = await setup((_r, res) => json(res, 409, { msg: 'reservation superseded' }));
    await expect(c.runner.start('t1', 'r1', signal())).rejects.toMatchObject({ code: 'ERR_API_CONFLICT' });
  });

  it('appendLog posts raw bytes at an offset and resyncs from the 409 size', async () => {
    let serverSize = 0;
    const stored: Buffer[] = [];
    const { s, c } = await setup((req, res) => {
      const offset = Number(new URL(req.url, 'http://x').searchParams.get('offset'));
      if (offset !== serverSize) return json(res, 409, { msg: 'offset mismatch', size: serverSize });
      stored.push(req.body);
      serverSize += req.body.length;
      return json(res, 200, { size: serverSize });
    });
    expect(await c.runner.appendLog('t1', 0, Buffer.from('hello '), signal())).toEqual({ size: 6 });
    expect(s.seen[0]?.headers['content-type']).toBe('application/octet-stream');
    let err: unknown;
    try {
      await c.runner.appendLog('t1', 100, Buffer.from('x'), signal());
    } catch (e) {
      err = e;
    }
    expect(isIronError(err, 'ERR_API_CONFLICT')).toBe(true);
    const size = conflictSize(err);
    expect(size).toBe(6);
    expect(await c.runner.appendLog('t1', size ?? 0, new Uint8Array(Buffer.from('world')), signal())).toEqual({ size: 11 });
    expect(Buffer.concat(stored).toString()).toBe('hello world');
  });

  it('finish retries until delivered (an API restart) with the default policy', async () => {
    const { s, c } = await setup((_r, res, n) => (n <= 4 ? json(res, 503, { msg: 'restarting' }) : json(res, 200, { msg: 'ok' })));
    const req: FinishRequest = { reservation_id: 'r1', status: 'complete', exit_code: 0, msg: '', duration_ms: 12, log_size: 11 };
    await c.runner.finish('t1', req, signal(), { retry: { maxAttempts: Infinity, baseDelayMs: 5, maxDelayMs: 10 } });
    expect(s.seen).toHaveLength(5);
    expect(JSON.parse(s.seen[4]?.body.toString() ?? '')).toEqual(req);
  });

  it('finish with a superseded reservation fails with ERR_API_CONFLICT, without retrying', async () => {
    const { s, c } = await setup((_r, res) => json(res, 409, { msg: 'superseded' }));
    await expect(c.runner.finish('t1', { reservation_id: 'old', status: 'error', exit_code: 1, msg: 'exit code 1', duration_ms: 1, log_size: 0 }, signal())).rejects.toMatchObject({
      code: 'ERR_API_CONFLICT',
    });
    expect(s.seen).toHaveLength(1);
  });
});
