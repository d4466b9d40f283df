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
