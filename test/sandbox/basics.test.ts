import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collector, makeFixture, never, sh, spec, type Fixture, runTask } from './helpers.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture();
});
afterAll(async () => {
  await fx.cleanup();
});

describe('runTask basics', () => {
  it('reports complete with an empty msg for exit 0 and streams stdout and stderr apart', async () => {
    const io = collector();
    const out = await runTask(fx.sandbox, spec({ command: sh('echo hello; echo oops >&2') }), io, never());
    expect(out).toMatchObject({ status: 'complete', msg: '', exitCode: 0, truncated: false });
    expect(io.stdout()).toBe('hello\n');
    expect(io.stderr()).toBe('oops\n');
    expect(out.logBytes).toBe(11);
  });

  it('reports error "exit code N" for a non-zero exit', async () => {
    const out = await runTask(fx.sandbox, spec({ command: sh('exit 3') }), collector(), never());
    expect(out).toMatchObject({ status: 'error', msg: 'exit code 3', exitCode: 3 });
  });
});
