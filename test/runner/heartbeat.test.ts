// Heartbeat answers are matched by reservation (issue 13 item 8b): a `lost` for the reservation a
// beat sent must not stop a newer reservation of the same task that arrived while that beat was in
// flight. Against a real iron-api: the lease of the first reservation expires, the task is reserved
// again, and the answer to a beat that still carried the first reservation arrives afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeartbeatRequest, HeartbeatResponse, RunnerApi } from '../../src/api/index.js';
import { RunnerEvents } from '../../src/runner/events.js';
import { Heartbeat, type LeasedTask } from '../../src/runner/heartbeat.js';
import { RunnerMetrics } from '../../src/runner/metrics.js';
import { call, queue, registerCode, reserve, startTestServer, type TestServer } from '../server/helpers.js';

let s: TestServer;
beforeAll(async () => {
  // A 1 s lease needs a heartbeat interval of at most half of it, as iron-api itself requires (the beats
  // below set their own interval; this one is only the hint in reserve answers).
  s = await startTestServer({ leaseMs: 1_000, heartbeatIntervalMs: 500 });
});
afterAll(async () => s.close());

describe('heartbeat answers matched by reservation', () => {
  it('a stale lost for the earlier reservation does not stop the new one', async () => {
    await registerCode(s, 'hb');
    const [id] = await queue(s, [{ code_name: 'hb', payload: 'x' }]);
    const [first] = await reserve(s);
    expect(first?.id).toBe(id);
    // The first lease runs out and the task is queued again, then reserved again (same runner).
    let second: Awaited<ReturnType<typeof reserve>>[number] | undefined;
    for (let i = 0; i < 100 && second === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      second = (await reserve(s))[0];
    }
    expect(second?.id).toBe(id);
    expect(second?.reservation_id).not.toBe(first?.reservation_id);

    const held: LeasedTask[] = [{ id: first?.id ?? '', reservationId: first?.reservation_id ?? '', leaseDeadline: Date.now() + 60_000, leaseMs: 60_000 }];
    let release: () => void = () => undefined;
    let sent: () => void = () => undefined;
    let beats = 0;
    const inFlight = new Promise<void>((resolve) => {
      sent = resolve;
    });
    const api = {
      // The beat carries the first reservation; its answer (lost) is held back until the runner holds the second.
      heartbeat: async (req: HeartbeatRequest): Promise<HeartbeatResponse> => {
        const r = await call<HeartbeatResponse>(s.url, 'POST', `/2/clusters/${s.cid}/runner/heartbeat`, { token: s.ctoken, json: req });
        if (beats++ > 0) return r.body;
        const answer = new Promise<void>((resolve) => {
          release = resolve;
        });
        sent();
        await answer;
        return r.body;
      },
    } as unknown as RunnerApi;
    const stopped: Array<[string, string]> = [];
    const beat = new Heartbeat(
      api,
      'runner-1',
      {
        tasks: () => held,
        cancel: () => undefined,
        lost: (tid, rid) => stopped.push([tid, rid]),
        fence: () => undefined,
      },
      new RunnerEvents(),
      new RunnerMetrics(),
    );
    beat.intervalMs = 10;
    beat.start();
    await inFlight;
    // The beat (first reservation; the server answered lost) is in flight: the runner now holds the new one.
    held[0] = { id: second?.id ?? '', reservationId: second?.reservation_id ?? '', leaseDeadline: Date.now() + 60_000, leaseMs: 60_000 };
    release();
    for (let i = 0; i < 100 && (stopped.length === 0 || beats < 2); i++) await new Promise((r) => setTimeout(r, 10));
    await beat.stop();
    // The lost names the reservation that beat sent, never the one the runner holds now.
    expect(stopped.length).toBeGreaterThan(0);
    expect(stopped[0]).toEqual([id, first?.reservation_id]);
    expect(stopped.every(([, rid]) => rid !== second?.reservation_id)).toBe(true);
  });
});

describe('idle heartbeats', () => {
  it('a runner holding no task beats at the idle interval the server names, and within the busy interval once it holds one', async () => {
    const held: LeasedTask[] = [];
    const answers: HeartbeatResponse[] = [];
    const api = {
      heartbeat: async (req: HeartbeatRequest): Promise<HeartbeatResponse> => {
        const r = await call<HeartbeatResponse>(s.url, 'POST', `/2/clusters/${s.cid}/runner/heartbeat`, { token: s.ctoken, json: req });
        answers.push(r.body);
        return r.body;
      },
    } as unknown as RunnerApi;
    const report = { hostname: 'h', version: 'v', slots_total: 1, slots_busy: 0, draining: false, engine_version: '', started_at: new Date().toISOString() };
    const beat = new Heartbeat(
      api,
      'runner-idle',
      { tasks: () => held, cancel: () => undefined, lost: () => undefined, fence: () => undefined, report: () => report },
      new RunnerEvents(),
      new RunnerMetrics(),
      // The first idle beat at the end of its interval (see the next test for where else it may fall).
      () => 0.999,
    );
    beat.intervalMs = 20;
    beat.start();
    try {
      for (let i = 0; i < 200 && answers.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      // The test server: HEARTBEAT_INTERVAL 500 ms, RUNNER_LOST_AFTER 10 s, so the idle interval is a third of it.
      expect(answers[0]).toMatchObject({ heartbeat_interval_ms: 500, idle_heartbeat_interval_ms: 3333 });
      beat.intervalMs = 20;
      // Idle: no second beat in the next 600 ms (at 20 ms there would be ~30).
      await new Promise((r) => setTimeout(r, 600));
      expect(answers).toHaveLength(1);
      // A task leased: the next beat comes at the busy interval, not 3.3 s after the last one, and they keep coming.
      held.push({ id: 'a'.repeat(24), reservationId: 'r', leaseDeadline: Date.now() + 60_000, leaseMs: 60_000 });
      beat.busy();
      for (let i = 0; i < 150 && answers.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
      expect(answers.length).toBeGreaterThanOrEqual(4);
    } finally {
      await beat.stop();
    }
  });

  it('the first idle beat falls at a random point of the idle interval, the later ones a whole interval apart', async () => {
    const at: number[] = [];
    const api = {
      heartbeat: async (req: HeartbeatRequest): Promise<HeartbeatResponse> => {
        const r = await call<HeartbeatResponse>(s.url, 'POST', `/2/clusters/${s.cid}/runner/heartbeat`, { token: s.ctoken, json: req });
        at.push(Date.now());
        return r.body;
      },
    } as unknown as RunnerApi;
    const report = { hostname: 'h', version: 'v', slots_total: 1, slots_busy: 0, draining: false, engine_version: '', started_at: new Date().toISOString() };
    const draws: number[] = [];
    const beat = new Heartbeat(
      api,
      'runner-spread',
      { tasks: () => [], cancel: () => undefined, lost: () => undefined, fence: () => undefined, report: () => report },
      new RunnerEvents(),
      new RunnerMetrics(),
      () => {
        draws.push(0.1);
        return 0.1;
      },
    );
    beat.intervalMs = 20;
    beat.start();
    try {
      // Beat 1 at the busy interval (no idle interval known yet), beat 2 a tenth of the 3.3 s idle
      // interval after it, beat 3 a whole interval after beat 2.
      for (let i = 0; i < 300 && at.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(at).toHaveLength(2);
      expect(draws).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(at).toHaveLength(2);
      for (let i = 0; i < 400 && at.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
      expect(at).toHaveLength(3);
      expect((at[2] ?? 0) - (at[1] ?? 0)).toBeGreaterThanOrEqual(3_000);
      // Only the first idle beat of an idle spell is drawn.
      expect(draws).toHaveLength(1);
    } finally {
      await beat.stop();
    }
  });
});
