// The runner request schemas of src/protocol/schemas.ts say what iron-api's handlers accept: every
// body the real client (src/api/runner.ts) sends passes them, each malformed body they refuse is
// refused by the running iron-api with a 400 too, and strings past their byte limits (which the
// schemas leave to the handlers) get iron-api's 413. docs/protocol.md's JSON examples are valid answers.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunnerClient } from '../../src/api/index.js';
import { MAX_FINISH_MSG_BYTES, MAX_INSTANCE_ID_BYTES, MAX_RESERVATION_ID_BYTES, MAX_WARM_CURSOR_BYTES } from '../../src/protocol/limits.js';
import {
  finishBodySchema,
  finishWithLogBodySchema,
  giveBackBodySchema,
  heartbeatBodySchema,
  logAppendQuerySchema,
  releaseBodySchema,
  reserveBodySchema,
  reserveResponseSchema,
  RUNNER_REQUEST_SCHEMAS,
  startBodySchema,
} from '../../src/protocol/schemas.js';
import { json, startFakeServer, type FakeServer, type Seen } from '../api/fake-server.js';
import { call, startTestServer, type TestServer } from '../server/helpers.js';

// Exact types, as the HTTP layer must validate: no coercion of "5" to 5, no defaults filled in.
const ajv = new Ajv({ allErrors: true, coerceTypes: false, useDefaults: false });
const valid = (schema: object, value: unknown): boolean => ajv.validate(schema, value) === true;

const CID = 'c'.repeat(24);
const TID = 'a'.repeat(24);
const RID = 'b'.repeat(24);

describe('runner request schemas against the real client', () => {
  let fake: FakeServer;
  const seen = (): Seen[] => fake.seen;

  beforeAll(async () => {
    fake = await startFakeServer((req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      if (path.endsWith('/reserve')) return json(res, 200, { tasks: [], heartbeat_interval_ms: 1000 });
      if (path.endsWith('/heartbeat')) return json(res, 200, { cancel: [], lost: [] });
      if (path.endsWith('/log')) return json(res, 200, { size: req.body.length });
      return json(res, 200, { msg: 'ok' });
    });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('every body and query the client sends passes its schema', async () => {
    const client = createRunnerClient({ baseUrl: fake.url, token: 'ct', clusterId: CID });
    const signal = AbortSignal.timeout(10_000);
    try {
      const api = client.runner;
      await api.reserve({ instance_id: 'runner-1', n: 3, wait: 0.5, warm_cursor: '' }, signal);
      await api.reserve({ instance_id: 'runner-1', n: 1, wait: 0 }, signal);
      await api.release('runner-1', signal);
      await api.heartbeat({ instance_id: 'runner-1', tasks: [{ id: TID, reservation_id: RID }], warm_cursor: 'e.1' }, signal);
      await api.heartbeat({ instance_id: 'runner-1', tasks: [] }, signal);
      await api.heartbeat({ instance_id: 'runner-1', tasks: [], runner: REPORT }, signal);
      await api.start(TID, RID, signal);
      await api.appendLog(TID, 0, Buffer.from('hello\n'), signal, { reservationId: RID });
      await api.appendLog(TID, 123_456_789, Buffer.from('more'), signal, { reservationId: RID });
      // What TaskRun reports (src/runner/task-run.ts) and what Runner gives back (src/runner/runner.ts).
      await api.finish(TID, { reservation_id: RID, status: 'complete', exit_code: 0, msg: '', duration_ms: 1234, log_size: 10 }, signal);
      await api.finish(TID, { reservation_id: RID, status: 'complete', exit_code: 0, msg: '', duration_ms: 1234, log_size: 10, usage: { peak_memory: 68_182_016, cpu_seconds: 0.52 } }, signal);
      await api.finish(TID, { reservation_id: RID, status: 'killed', exit_code: 137, msg: 'out of memory', duration_ms: 5, log_size: 0, log_truncated: true }, signal);
      await api.finish(TID, { reservation_id: RID, status: 'error', exit_code: null, msg: 'payload refused', duration_ms: 0, log_size: 0 }, signal);
      await api.finish(TID, { reservation_id: RID, status: 'requeue', exit_code: null, msg: 'draining', duration_ms: 0, log_size: 0 }, signal);
      await api.finishWithLog(
        TID,
        { reservation_id: RID, status: 'complete', exit_code: 0, msg: '', duration_ms: 9, log_size: 14, log_tail: { offset: 10, data: Buffer.from('tail').toString('base64') } },
        signal,
      );
    } finally {
      await client.close();
    }
    const checked = new Map<string, number>();
    for (const req of seen()) {
      const url = new URL(req.url, 'http://x');
      const route = `${req.method} ${url.pathname.replace(CID, ':cid').replace(TID, ':tid')}`;
      const schemas = RUNNER_REQUEST_SCHEMAS[route as keyof typeof RUNNER_REQUEST_SCHEMAS];
      expect(schemas, route).toBeDefined();
      if ('body' in schemas) {
        const body: unknown = JSON.parse(req.body.toString('utf8'));
        expect(valid(schemas.body, body), `${route} ${JSON.stringify(body)}: ${ajv.errorsText()}`).toBe(true);
        if ((body as { status?: string }).status === 'requeue') expect(valid(giveBackBodySchema, body), ajv.errorsText()).toBe(true);
      } else {
        const query = Object.fromEntries(url.searchParams);
        expect(valid(schemas.querystring, query), `${route} ${JSON.stringify(query)}: ${ajv.errorsText()}`).toBe(true);
      }
      checked.set(route, (checked.get(route) ?? 0) + 1);
    }
    // Every route of the table was exercised.
    expect([...checked.keys()].sort()).toEqual(Object.keys(RUNNER_REQUEST_SCHEMAS).sort());
  });

  it('a finish that is not a requeue is not a give-back', () => {
    expect(valid(giveBackBodySchema, { reservation_id: RID, status: 'complete' })).toBe(false);
    expect(valid(giveBackBodySchema, { reservation_id: RID, status: 'requeue', exit_code: null, msg: 'x', duration_ms: 0, log_size: 0 })).toBe(true);
  });
});

const REPORT = { hostname: 'h', version: '0.1.0', slots_total: 4, slots_busy: 0, draining: false, engine_version: '20.10', started_at: '2026-01-02T03:04:05.678Z' };

/** [route, schema, body or query, why]: each refused by the schema and answered 400 by iron-api. */
const MALFORMED: ReadonlyArray<readonly [string, object, Record<string, unknown>, string]> = [
  ['reserve', reserveBodySchema, {}, 'no instance_id'],
  ['reserve', reserveBodySchema, { instance_id: '' }, 'empty instance_id'],
  ['reserve', reserveBodySchema, { instance_id: 7 }, 'instance_id not a string'],
  ['reserve', reserveBodySchema, { instance_id: 'r', n: 0 }, 'n below 1'],
  ['reserve', reserveBodySchema, { instance_id: 'r', n: 101 }, 'n above the limit'],
  ['reserve', reserveBodySchema, { instance_id: 'r', n: 1.5 }, 'n fractional'],
  ['reserve', reserveBodySchema, { instance_id: 'r', n: '2' }, 'n a string'],
  ['reserve', reserveBodySchema, { instance_id: 'r', wait: 31 }, 'wait above 30 s'],
  ['reserve', reserveBodySchema, { instance_id: 'r', wait: -1 }, 'wait negative'],
  ['reserve', reserveBodySchema, { instance_id: 'r', warm_cursor: 5 }, 'warm_cursor not a string'],
  ['release', releaseBodySchema, {}, 'no instance_id'],
  ['heartbeat', heartbeatBodySchema, { tasks: [] }, 'no instance_id'],
  ['heartbeat', heartbeatBodySchema, { instance_id: 'r', tasks: {} }, 'tasks not an array'],
  ['heartbeat', heartbeatBodySchema, { instance_id: 'r', tasks: [TID] }, 'a task not an object'],
  ['heartbeat', heartbeatBodySchema, { instance_id: 'r', tasks: [{ id: 'nothex', reservation_id: RID }] }, 'a task id not 24 hex'],
  ['heartbeat', heartbeatBodySchema, { instance_id: 'r', tasks: [{ id: TID }] }, 'a task without reservation_id'],
  ['heartbeat', heartbeatBodySchema, { instance_id: 'r', tasks: Array.from({ length: 1025 }, () => ({ id: TID, reservation_id: RID })) }, 'too many tasks'],
  ['start', startBodySchema, {}, 'no reservation_id'],
  ['finish', finishBodySchema, { reservation_id: RID }, 'no status'],
  ['finish', finishBodySchema, { reservation_id: RID, status: 'done' }, 'unknown status'],
  ['finish', finishBodySchema, { status: 'complete' }, 'no reservation_id'],
  ['finish', finishBodySchema, { reservation_id: RID, status: 'complete', exit_code: 1.5 }, 'exit_code fractional'],
  ['finish', finishBodySchema, { reservation_id: RID, status: 'complete', exit_code: 2 ** 31 }, 'exit_code beyond int32'],
  ['finish', finishBodySchema, { reservation_id: RID, status: 'complete', duration_ms: -1 }, 'duration_ms negative'],
  ['finish', finishBodySchema, { reservation_id: RID, status: 'complete', log_size: 1.5 }, 'log_size fractional'],
  ['finish', finishBodySchema, { reservation_id: RID, status: 'complete', log_truncated: 'yes' }, 'log_truncated not a boolean'],
  ['finish-with-log', finishWithLogBodySchema, { reservation_id: RID, status: 'complete' }, 'no log_tail'],
  ['finish-with-log', finishWithLogBodySchema, { reservation_id: RID, status: 'complete', log_tail: { offset: 0, data: 'a$b=' } }, 'log_tail data not base64'],
  ['finish-with-log', finishWithLogBodySchema, { reservation_id: RID, status: 'complete', log_tail: { offset: -1, data: '' } }, 'log_tail offset negative'],
  ['finish-with-log', finishWithLogBodySchema, { reservation_id: RID, status: 'complete', log_tail: { offset: 0, data: 'A'.repeat(90_000) } }, 'log_tail data past 64 KiB'],
  ['heartbeat', heartbeatBodySchema, { instance_id: 'r', runner: 'me' }, 'runner not an object'],
  ['heartbeat', heartbeatBodySchema, { instance_id: 'r', runner: { ...REPORT, slots_total: '4' } }, 'runner slots_total a string'],
  ['heartbeat', heartbeatBodySchema, { instance_id: 'r', runner: { ...REPORT, slots_busy: -1 } }, 'runner slots_busy negative'],
  ['heartbeat', heartbeatBodySchema, { instance_id: 'r', runner: { ...REPORT, slots_total: 1.5 } }, 'runner slots_total fractional'],
  ['heartbeat', heartbeatBodySchema, { instance_id: 'r', runner: { ...REPORT, draining: 'no' } }, 'runner draining not a boolean'],
  ['heartbeat', heartbeatBodySchema, { instance_id: 'r', runner: { ...REPORT, hostname: 'h'.repeat(256) } }, 'runner hostname huge'],
  ['heartbeat', heartbeatBodySchema, { instance_id: 'r', runner: { ...REPORT, version: 'v'.repeat(100_000) } }, 'runner version huge'],
  ['heartbeat', heartbeatBodySchema, { instance_id: 'r', runner: { hostname: 'h' } }, 'runner incomplete'],
  ['finish', finishBodySchema, { reservation_id: RID, status: 'complete', usage: { peak_memory: -1, cpu_seconds: 0 } }, 'usage peak_memory negative'],
  ['finish', finishBodySchema, { reservation_id: RID, status: 'complete', usage: { peak_memory: 1.5, cpu_seconds: 0 } }, 'usage peak_memory fractional'],
  ['finish', finishBodySchema, { reservation_id: RID, status: 'complete', usage: { peak_memory: 1, cpu_seconds: '2' } }, 'usage cpu_seconds a string'],
  ['finish', finishBodySchema, { reservation_id: RID, status: 'complete', usage: 5 }, 'usage not an object'],
  ['log', logAppendQuerySchema, { reservation_id: RID }, 'no offset'],
  ['log', logAppendQuerySchema, { offset: '-1', reservation_id: RID }, 'offset negative'],
  ['log', logAppendQuerySchema, { offset: '1'.repeat(16), reservation_id: RID }, 'offset of 16 digits'],
  ['log', logAppendQuerySchema, { offset: '0' }, 'no reservation_id'],
  ['log', logAppendQuerySchema, { offset: '0', reservation_id: '' }, 'empty reservation_id'],
];

describe('malformed runner requests: the schemas and iron-api agree', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s.close();
  });

  const send = (route: string, value: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> => {
    const base = `/2/clusters/${s.cid}/runner`;
    if (route === 'log') {
      const q = new URLSearchParams(Object.entries(value).map(([k, v]): [string, string] => [k, String(v)]));
      return call(s.url, 'POST', `${base}/tasks/${TID}/log?${q.toString()}`, { token: s.ctoken, body: 'x', type: 'application/octet-stream' });
    }
    const path = route === 'start' || route === 'finish' || route === 'finish-with-log' ? `${base}/tasks/${TID}/${route}` : `${base}/${route}`;
    return call(s.url, 'POST', path, { token: s.ctoken, json: value });
  };

  for (const [route, schema, value, why] of MALFORMED) {
    it(`${route}: ${why}`, async () => {
      expect(valid(schema, value)).toBe(false);
      const res = await send(route, value);
      expect(res.status).toBe(400);
      // The body schemas are attached to the routes: their check, not the handler's, answered.
      if (route !== 'log') expect(String(res.body['msg'])).toMatch(/^invalid request: body/);
    });
  }

  // Byte limits are the handlers' (ERR_SERVER_TOO_LARGE): a schema refusing these would turn the 413 into a 400.
  const TOO_LARGE: ReadonlyArray<readonly [string, object, Record<string, unknown>]> = [
    ['reserve', reserveBodySchema, { instance_id: 'x'.repeat(MAX_INSTANCE_ID_BYTES + 1) }],
    ['reserve', reserveBodySchema, { instance_id: 'r', warm_cursor: 'x'.repeat(MAX_WARM_CURSOR_BYTES + 1) }],
    ['start', startBodySchema, { reservation_id: 'x'.repeat(MAX_RESERVATION_ID_BYTES + 1) }],
    ['finish', finishBodySchema, { reservation_id: RID, status: 'complete', msg: 'x'.repeat(MAX_FINISH_MSG_BYTES + 1) }],
    // Characters within the bound, bytes past it.
    ['finish', finishBodySchema, { reservation_id: RID, status: 'complete', msg: 'é'.repeat(MAX_FINISH_MSG_BYTES / 2 + 1) }],
  ];
  it("strings past their byte limits pass the schemas and get iron-api's 413", async () => {
    for (const [route, schema, value] of TOO_LARGE) {
      expect(valid(schema, value), route).toBe(true);
      expect((await send(route, value)).status, route).toBe(413);
    }
  });

  it("well-formed requests pass the schemas and get past iron-api's checks", async () => {
    const ok: ReadonlyArray<readonly [string, object, Record<string, unknown>]> = [
      ['reserve', reserveBodySchema, { instance_id: 'r', n: 2, wait: 0, warm_cursor: null, extra: true }],
      ['release', releaseBodySchema, { instance_id: 'r' }],
      ['heartbeat', heartbeatBodySchema, { instance_id: 'r', tasks: [{ id: TID, reservation_id: RID }] }],
      ['heartbeat', heartbeatBodySchema, { instance_id: 'r', tasks: null }],
      ['heartbeat', heartbeatBodySchema, { instance_id: 'r', tasks: [], runner: REPORT }],
      ['heartbeat', heartbeatBodySchema, { instance_id: 'r', tasks: [], runner: null }],
      ['start', startBodySchema, { reservation_id: RID }],
      ['finish', finishBodySchema, { reservation_id: RID, status: 'timeout', exit_code: null, msg: null, duration_ms: 1.5, log_size: null }],
      ['log', logAppendQuerySchema, { offset: '0', reservation_id: RID }],
    ];
    for (const [route, schema, value] of ok) {
      expect(valid(schema, value), `${route}: ${ajv.errorsText()}`).toBe(true);
      // 200, or 404 for a task this cluster does not hold: never a 400.
      expect([200, 404], route).toContain((await send(route, value)).status);
    }
  });
});

describe('docs/protocol.md examples', () => {
  it('every JSON example of a reserve answer is a valid ReserveResponse', async () => {
    const doc = await readFile(join(import.meta.dirname, '../../docs/protocol.md'), 'utf8');
    const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const answers = blocks.map((b) => JSON.parse(b) as unknown).filter((v) => typeof v === 'object' && v !== null && 'tasks' in v);
    expect(answers.length).toBeGreaterThanOrEqual(2);
    for (const a of answers) expect(valid(reserveResponseSchema, a), `${JSON.stringify(a)}: ${ajv.errorsText()}`).toBe(true);
  });

  it('an answer of the running iron-api is a valid ReserveResponse, a malformed one is not', async () => {
    const s = await startTestServer();
    try {
      await call(s.url, 'POST', `/2/projects/${s.pid}/codes`, { token: s.token, json: { name: 'hello', image: 'iron-test/busybox:1' } });
      await call(s.url, 'POST', `/2/projects/${s.pid}/tasks`, { token: s.token, json: { tasks: [{ code_name: 'hello', payload: '{}' }] } });
      const r = await call(s.url, 'POST', `/2/clusters/${s.cid}/runner/reserve`, { token: s.ctoken, json: { instance_id: 'r', n: 1, wait: 0, warm_cursor: '' } });
      expect(r.status).toBe(200);
      expect(valid(reserveResponseSchema, r.body), ajv.errorsText()).toBe(true);
      expect((r.body['tasks'] as unknown[]).length).toBe(1);
      const [task] = r.body['tasks'] as Record<string, unknown>[];
      const { reservation_id: _gone, ...withoutReservation } = task ?? {};
      expect(valid(reserveResponseSchema, { ...r.body, tasks: [withoutReservation] })).toBe(false);
    } finally {
      await s.close();
    }
  });
});
