// Input delivered as a read-only bind of a per-task directory (the engine shares our filesystem):
// the job reads exactly its payload and config, cannot change or add to them, the directory is gone
// after the task, the reaper removes leftovers of tasks that are not running, and an engine that
// does not see the directory (refused bind, other directory at that path) gets the volume instead.
import { mkdtempSync, readdirSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IronError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { Sandbox, type ContainerEngine } from '../../src/sandbox/index.js';
import { buildInputArchive } from '../../src/sandbox/input-contract.js';
import { collector, makeFixture, never, sh, spec, type Fixture, MiB, runTask } from './helpers.js';

let fx: Fixture;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'iron-input-bind-'));
  fx = await makeFixture({ inputDir: path.join(dir, 'input') });
});
afterAll(async () => {
  await fx.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const payload = Buffer.from('{"hello":"bind"}\n\u0000binary\u00ff', 'latin1');

describe('bind input', () => {
  it('gives the job its exact payload and config, read-only, and removes the directory afterwards', async () => {
    expect(fx.sandbox.inputMode).toBeUndefined();
    const io = collector();
    const out = await runTask(
      fx.sandbox,
      spec({
        payload,
        config: '{"c":1}',
        command: sh(
          'cat "$PAYLOAD_FILE" | od -An -c | tr -s " " | tr -d "\\n"; echo; cat "$CONFIG_FILE"; echo; ' +
            '(echo x > "$PAYLOAD_FILE") 2>/dev/null && echo WROTE; touch /task/input/new 2>/dev/null && echo ADDED; ' +
            'echo scratch > "$TASK_DIR/s" && echo scratch-ok; stat -c %a /task/input "$PAYLOAD_FILE"',
        ),
      }),
      io,
      never(),
    );
    expect(out).toMatchObject({ status: 'complete', exitCode: 0 });
    expect(fx.sandbox.inputMode).toBe('bind');
    const lines = io.stdout().trim().split('\n');
    expect(lines[0]).toContain('{ " h e l l o " : " b i n d " } \\n \\0 b i n a r y 377');
    expect(lines[1]).toBe('{"c":1}');
    expect(io.stdout()).not.toContain('WROTE');
    expect(io.stdout()).not.toContain('ADDED');
    expect(lines).toContain('scratch-ok');
    expect(lines.slice(-2)).toEqual(['555', '444']);
    expect(readdirSync(path.join(dir, 'input'))).toEqual([]);
  });

  it('runs concurrent tasks each with its own input, and creates no volume or helper container', async () => {
    const events: string[] = [];
    const watching: ContainerEngine = Object.create(fx.engine) as ContainerEngine;
    watching.volumeCreate = async (...a) => {
      events.push('volume');
      return fx.engine.volumeCreate(...a);
    };
    const sb = await Sandbox.create(
      watching,
      { instanceId: fx.instanceId, maxLogBytes: MiB, stopGraceMs: 1000, network: fx.network, inputDir: path.join(dir, 'input') },
      silentLogger(),
      AbortSignal.timeout(30_000),
    );
    const runs = Array.from({ length: 4 }, async (_, i) => {
      const io = collector();
      const out = await runTask(sb, spec({ payload: Buffer.from(`p${i}`), command: sh('cat "$PAYLOAD_FILE"') }), io, never());
      return [out.status, io.stdout()];
    });
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3].map((i) => ['complete', `p${i}`]));
    expect(events).toEqual([]);
    expect(readdirSync(path.join(dir, 'input'))).toEqual([]);
  });

  it('the reaper removes input directories of tasks not running and keeps those of running tasks', async () => {
    const root = path.join(dir, 'input');
    for (const n of ['t-gone-abc123', 't-running-def456', 'probe-0123456789ab']) {
      mkdirSync(path.join(root, n), { mode: 0o555 });
    }
    writeFileSync(path.join(root, 't-gone-abc123x'), 'stray file');
    await fx.sandbox.reapOrphans(AbortSignal.timeout(30_000), new Set(['t-running']));
    expect(readdirSync(root)).toEqual(['t-running-def456']);
    await fx.sandbox.reapOrphans(AbortSignal.timeout(30_000));
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('an engine that does not see the input directory gets the volume', () => {
  const runWith = async (engine: ContainerEngine): Promise<{ mode: string | undefined; stdout: string; status: string }> => {
    const inputDir = path.join(dir, `other-${Math.random().toString(36).slice(2)}`);
    const sb = await Sandbox.create(engine, { instanceId: fx.instanceId, maxLogBytes: MiB, stopGraceMs: 1000, network: fx.network, inputDir }, silentLogger(), AbortSignal.timeout(30_000));
    const io = collector();
    const out = await runTask(sb, spec({ payload: Buffer.from('via-volume'), command: sh('cat "$PAYLOAD_FILE"') }), io, never());
    expect(readdirSync(inputDir)).toEqual([]);
    return { mode: sb.inputMode, stdout: io.stdout(), status: out.status };
  };

  it('when the engine refuses the bind (no such path on its host)', async () => {
    // Cannot be produced on demand here (the engine shares this machine's filesystem): refused as Docker does.
    const remote: ContainerEngine = Object.create(fx.engine) as ContainerEngine;
    remote.containerCreate = async (body, signal) => {
      if (body.HostConfig.Mounts?.some((m) => m.Type === 'bind') === true) {
        throw new IronError('ERR_ENGINE_FAILED', 'docker container create failed (HTTP 400)', {
          retryable: false,
          details: { status: 400, engineMessage: 'invalid mount config for type "bind": bind source path does not exist' },
        });
      }
      return fx.engine.containerCreate(body, signal);
    };
    expect(await runWith(remote)).toEqual({ mode: 'volume', stdout: 'via-volume', status: 'complete' });
  });

  it('when the engine sees another directory at that path', async () => {
    const elsewhere: ContainerEngine = Object.create(fx.engine) as ContainerEngine;
    elsewhere.containerGetArchive = async () => buildInputArchive(Buffer.from('not-the-nonce'), '');
    expect(await runWith(elsewhere)).toEqual({ mode: 'volume', stdout: 'via-volume', status: 'complete' });
  });

  it('JOB_INPUT=volume never probes', async () => {
    const sb = await Sandbox.create(
      fx.engine,
      { instanceId: fx.instanceId, maxLogBytes: MiB, stopGraceMs: 1000, network: fx.network, inputDir: path.join(dir, 'never'), inputMode: 'volume' },
      silentLogger(),
      AbortSignal.timeout(30_000),
    );
    expect(sb.inputMode).toBe('volume');
    const io = collector();
    expect((await runTask(sb, spec({ payload: Buffer.from('v'), command: sh('cat "$PAYLOAD_FILE"') }), io, never())).status).toBe('complete');
    expect(io.stdout()).toBe('v');
  });
});
