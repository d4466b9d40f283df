// Docker can record a container's exit before its OOM flag (src/sandbox/late-oom.ts). The race is
// rare on a quiet engine, so a stand-in in front of the real engine holds the flag back for the
// first inspections after the exit, as a loaded engine does; everything else is the real engine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerEngine } from '../../src/sandbox/index.js';
import { collector, makeFixture, MiB, never, runTask, sh, spec, type Fixture } from './helpers.js';

/** Inspections of a stopped container that report no OOM flag before the real answer is passed on. */
const HELD_BACK = 2;

function lateFlag(real: ContainerEngine): ContainerEngine {
  const seen = new Map<string, number>();
  return new Proxy(real, {
    get(target, key, receiver) {
      if (key !== 'containerInspect') return Reflect.get(target, key, receiver) as unknown;
      return async (id: string, signal: AbortSignal) => {
        const state = await target.containerInspect(id, signal);
        if (state.running || !state.oomKilled) return state;
        const n = (seen.get(id) ?? 0) + 1;
        seen.set(id, n);
        return n <= HELD_BACK ? { ...state, oomKilled: false } : state;
      };
    },
  });
}

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture({}, lateFlag);
});
afterAll(async () => {
  await fx.cleanup();
});

describe('an OOM flag the engine sets after the exit', () => {
  it('is still reported as out of memory, not as exit code 137', async () => {
    const out = await runTask(fx.sandbox, spec({ command: sh('x=a; while true; do x="$x$x"; done'), limits: { memoryBytes: 32 * MiB } }), collector(), never());
    expect(out).toMatchObject({ status: 'killed', msg: 'out of memory (limit 32 MiB)', exitCode: 137 });
  });

  it('leaves a kill -9 the job sent itself an error with its exit code', async () => {
    const out = await runTask(fx.sandbox, spec({ command: sh('kill -9 $$') }), collector(), never());
    expect(out).toMatchObject({ status: 'error', msg: 'exit code 137', exitCode: 137 });
  });
});
