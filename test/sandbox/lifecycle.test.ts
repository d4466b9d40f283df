// Cleanup on every path (never started, stopped before start, engine failure at start), job-fault outcomes that
// happen before the job runs (image, command), the orphan reaper's scope, and engine errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IronError, isIronError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { createDockerEngine, Sandbox, type ContainerEngine } from '../../src/sandbox/index.js';
import { instanceFilter, objectLabels } from '../../src/sandbox/labels.js';
import { assertNothingLeft, collector, IMAGE, makeFixture, never, sh, spec, type Fixture, runTask } from './helpers.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture();
});
afterAll(async () => {
  await fx.cleanup();
});

const leftovers = async (): Promise<number> => {
  const s = AbortSignal.timeout(10_000);
  return (await fx.engine.containerList(instanceFilter(fx.instanceId), s)).length + (await fx.engine.volumeList(instanceFilter(fx.instanceId), s)).length;
};

describe('cleanup on every path', () => {
  it('a prepared task that is never started runs nothing, and dispose removes everything', async () => {
    const prepared = await fx.sandbox.prepare(spec({ command: sh('echo must-not-run') }), never());
    expect(prepared.runnable).toBe(true);
    await prepared.dispose();
    await prepared.dispose();
    expect(await prepared.wait()).toMatchObject({ kind: 'cancelled', exitCode: null, logBytes: 0 });
    expect(prepared.runnable).toBe(false);
    expect(await leftovers()).toBe(0);
  });

  it('stop before start: the job never starts; start after it does nothing', async () => {
    const io = collector();
    const prepared = await fx.sandbox.prepare(spec({ command: sh('echo must-not-run') }), never());
    prepared.stop('cancel');
    await prepared.start(io.onOutput, never());
    expect(await prepared.wait()).toMatchObject({ kind: 'cancelled', reason: 'cancelled' });
    await prepared.dispose();
    expect(io.stdout()).toBe('');
    expect(await leftovers()).toBe(0);
  });

  it('wait settles with the outcome before dispose; dispose then leaves nothing behind', async () => {
    const prepared = await fx.sandbox.prepare(spec({ command: sh('exit 3') }), never());
    await prepared.start(collector().onOutput, never());
    const out = await prepared.wait();
    expect(out).toMatchObject({ kind: 'exit', code: 3, reason: 'exit code 3', exitCode: 3 });
    expect(await leftovers()).toBeGreaterThan(0);
    await prepared.dispose();
    expect(await leftovers()).toBe(0);
  });

  it("prepare's signal aborted before start: the job never starts", async () => {
    const io = collector();
    const ac = new AbortController();
    const prepared = await fx.sandbox.prepare(spec({ command: sh('echo must-not-run') }), ac.signal);
    ac.abort();
    await prepared.start(io.onOutput, never());
    expect(await prepared.wait()).toMatchObject({ kind: 'cancelled' });
    await prepared.dispose();
    expect(io.stdout()).toBe('');
    expect(await leftovers()).toBe(0);
  });

  it('dispose of a running job kills and removes it; its waiters learn it was cancelled', async () => {
    const io = collector();
    const prepared = await fx.sandbox.prepare(spec({ command: sh('echo started; sleep 60') }), never());
    await prepared.start(io.onOutput, never());
    const outcome = prepared.wait();
    await prepared.dispose();
    expect(await outcome).toMatchObject({ kind: 'cancelled' });
    expect(await leftovers()).toBe(0);
  });

  it('removes the container and volume when the engine fails at start; the outcome is failed with that engine error', async () => {
    const failing: ContainerEngine = Object.create(fx.engine) as ContainerEngine;
    failing.containerStart = async () => {
      throw new IronError('ERR_ENGINE_FAILED', 'docker container start failed (HTTP 500): boom', { details: { status: 500, engineMessage: 'boom' } });
    };
    const sb = await Sandbox.create(failing, { instanceId: fx.instanceId, maxLogBytes: 1024, stopGraceMs: 1000, network: fx.network }, silentLogger(), AbortSignal.timeout(30_000));
    const prepared = await sb.prepare(spec({ command: sh('true') }), never());
    await prepared.start(collector().onOutput, never());
    const out = await prepared.wait();
    await prepared.dispose();
    expect(out).toMatchObject({ kind: 'failed', engineAsked: true });
    const err = out.kind === 'failed' ? out.error : undefined;
    expect(isIronError(err, 'ERR_ENGINE_FAILED')).toBe(true);
    expect((err as IronError).retryable).toBe(true);
    expect(await leftovers()).toBe(0);
  });
});

describe('job-fault outcomes', () => {
  it('reports "command not found" for a missing executable', async () => {
    const out = await runTask(fx.sandbox, spec({ command: ['/no/such/binary', 'arg'] }), collector(), never());
    expect(out).toMatchObject({ status: 'error', msg: 'command not found: /no/such/binary', exitCode: 127 });
  });

  it('keeps "exit code 127" for a script whose own command is missing', async () => {
    const out = await runTask(fx.sandbox, spec({ command: sh('no-such-thing') }), collector(), never());
    expect(out).toMatchObject({ status: 'error', msg: 'exit code 127' });
  });

  it('reports an invalid image reference', async () => {
    const out = await runTask(fx.sandbox, spec({ image: 'Not A Valid/Image' }), collector(), never());
    expect(out.status).toBe('error');
    expect(out.msg).toMatch(/^invalid image: /);
  });

  it('reports a failed pull (registry refused) as an error outcome', async () => {
    const out = await runTask(fx.sandbox, spec({ image: '127.0.0.1:9/iron-test/absent:1', registryAuth: { username: 'u', password: 'secret-pw' } }), collector(), never());
    expect(out.status).toBe('error');
    expect(out.msg).toMatch(/^image pull failed: /);
    expect(out.msg).not.toContain('secret-pw');
  });

  it('rejects a malformed spec with ERR_INVALID_ARGUMENT before touching the engine', async () => {
    const bad = spec({ env: { 'A=B': 'x' }, limits: { memoryBytes: 1 } });
    await expect(runTask(fx.sandbox, bad, collector(), never())).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});

describe('orphans', () => {
  it('reaps exactly this instance objects and reports their tasks', async () => {
    const other = `${fx.instanceId}-other`;
    const s = AbortSignal.timeout(30_000);
    const mk = (instance: string, task: string): Promise<string> =>
      fx.engine.containerCreate(
        {
          Image: IMAGE,
          Cmd: ['sleep', '60'],
          Env: [],
          Labels: objectLabels(instance, task, 'job', { 'io.iron-runner.reservation': `r-${task}` }),
          AttachStdout: false,
          AttachStderr: false,
          AttachStdin: false,
          OpenStdin: false,
          Tty: false,
          HostConfig: {
            Init: true,
            Memory: 32 * 1024 * 1024,
            MemorySwap: 32 * 1024 * 1024,
            PidsLimit: 16,
            ReadonlyRootfs: true,
            NetworkMode: 'none',
            SecurityOpt: ['no-new-privileges'],
            CapDrop: ['ALL'],
            CapAdd: [],
            Privileged: false,
            LogConfig: { Type: 'none', Config: {} },
            AutoRemove: false,
          },
        },
        s,
      );
    const mine = await mk(fx.instanceId, 'orphan-1');
    await fx.engine.containerStart(mine, s);
    const theirs = await mk(other, 'orphan-2');
    await fx.engine.volumeCreate(`iron-in-orphan-${fx.instanceId}`, objectLabels(fx.instanceId, 'orphan-1', 'input', {}), s);
    try {
      const reaped = await fx.sandbox.reapOrphans(s);
      expect(reaped).toEqual([{ taskId: 'orphan-1', reservationId: 'r-orphan-1', containerId: mine }]);
      expect(await leftovers()).toBe(0);
      expect((await fx.engine.containerList(instanceFilter(other), s)).map((c) => c.id)).toEqual([theirs]);
    } finally {
      await fx.engine.containerRemove(theirs, s);
    }
    await assertNothingLeft(fx.engine, other);
  });
});

describe('engine errors', () => {
  it('reports an unreachable engine as ERR_ENGINE_UNAVAILABLE (retryable)', async () => {
    const engine = createDockerEngine({ socketPath: '/nonexistent/docker.sock' });
    const err = await engine.ping(AbortSignal.timeout(5_000)).catch((e: unknown) => e);
    expect(isIronError(err, 'ERR_ENGINE_UNAVAILABLE')).toBe(true);
    expect((err as IronError).retryable).toBe(true);
    const err2 = await Sandbox.create(engine, { instanceId: 'x', maxLogBytes: 1, stopGraceMs: 1 }, silentLogger(), AbortSignal.timeout(5_000)).catch((e: unknown) => e);
    expect(isIronError(err2, 'ERR_ENGINE_UNAVAILABLE')).toBe(true);
  });

  it('answers ping on a live engine', async () => {
    await expect(fx.sandbox.ping(AbortSignal.timeout(5_000))).resolves.toBeUndefined();
  });
});
