// LRU eviction over images this sandbox pulled, never an image a container still uses, never an image
// that was on the engine already (the test image here, used by a task too). The images are committed
// from the test image (distinct ids), pushed to a private registry on loopback and their local tags
// removed, so the sandbox pulls them; no other test's images are touched.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectLabels } from '../../src/sandbox/labels.js';
import { collector, IMAGE, makeFixture, MiB, never, spec, type Fixture, runTask } from './helpers.js';
import { commitContainer, testDocker } from '../helpers/docker.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const tag = randomBytes(3).toString('hex');
const repo = `iron-test/cache-${tag}`;
const local = ['a', 'b', 'c'].map((t) => `${repo}:${t}`);
let refs: string[] = [];
let fx: Fixture;
let reg: TestRegistry;
let holder: string | undefined;

beforeAll(async () => {
  // Each image is about as large as the test image; the limit holds two of them.
  fx = await makeFixture({ imageCacheBytes: 5 * MiB });
  const s = AbortSignal.timeout(60_000);
  const base = await fx.engine.containerCreate(
    {
      Image: IMAGE,
      Cmd: ['true'],
      Env: [],
      Labels: objectLabels(fx.instanceId, 'image-base', 'input-helper', {}),
      AttachStdout: false,
      AttachStderr: false,
      AttachStdin: false,
      OpenStdin: false,
      Tty: false,
      HostConfig: {
        Init: false,
        Memory: 0,
        MemorySwap: 0,
        PidsLimit: 8,
        ReadonlyRootfs: true,
        NetworkMode: 'none',
        SecurityOpt: [],
        CapDrop: ['ALL'],
        CapAdd: [],
        Privileged: false,
        LogConfig: { Type: 'none', Config: {} },
        AutoRemove: false,
      },
    },
    s,
  );
  const docker = testDocker();
  try {
    for (const ref of local) {
      const [r, t] = ref.split(':') as [string, string];
      await commitContainer(docker, base, r, t, { 'io.iron-runner.test': `${tag}-${t}` });
    }
  } finally {
    await fx.engine.containerRemove(base, s);
  }
  reg = await startRegistry();
  refs = ['a', 'b', 'c'].map((t) => `${reg.host}/cache-${tag}:${t}`);
  for (const [i, ref] of local.entries()) {
    await reg.push(ref, `cache-${tag}:${['a', 'b', 'c'][i] ?? ''}`);
    await fx.engine.imageRemove(ref, s);
  }
});

afterAll(async () => {
  const s = AbortSignal.timeout(60_000);
  if (holder !== undefined) await fx.engine.containerRemove(holder, s);
  for (const ref of [...refs, ...local]) await fx.engine.imageRemove(ref, s).catch(() => undefined);
  await reg?.stop();
  await fx.cleanup();
});

describe('image cache', () => {
  it('evicts the least recently used pulled image, skipping one a container still uses and the local one', async () => {
    const s = AbortSignal.timeout(30_000);
    const run = (image: string) => runTask(fx.sandbox, spec({ image, command: ['true'], registryAuth: reg.auth }), collector(), never());
    // The local test image is used first (so it is the least recently used), and is never a candidate.
    expect((await runTask(fx.sandbox, spec({ image: IMAGE, command: ['true'] }), collector(), never())).status).toBe('complete');
    expect((await run(refs[0] ?? '')).status).toBe('complete');
    expect((await run(refs[1] ?? '')).status).toBe('complete');
    // A container (not a running task) holds the least recently used image.
    holder = await fx.engine.containerCreate(
      {
        Image: refs[0] ?? '',
        Cmd: ['true'],
        Env: [],
        Labels: objectLabels(fx.instanceId, 'holder', 'input-helper', {}),
        AttachStdout: false,
        AttachStderr: false,
        AttachStdin: false,
        OpenStdin: false,
        Tty: false,
        HostConfig: {
          Init: false,
          Memory: 0,
          MemorySwap: 0,
          PidsLimit: 8,
          ReadonlyRootfs: true,
          NetworkMode: 'none',
          SecurityOpt: [],
          CapDrop: ['ALL'],
          CapAdd: [],
          Privileged: false,
          LogConfig: { Type: 'none', Config: {} },
          AutoRemove: false,
        },
      },
      s,
    );
    expect((await run(refs[2] ?? '')).status).toBe('complete');
    expect(await fx.engine.imageInspect(refs[0] ?? '', s)).toBeDefined();
    expect(await fx.engine.imageInspect(refs[1] ?? '', s)).toBeUndefined();
    expect(await fx.engine.imageInspect(refs[2] ?? '', s)).toBeDefined();
    expect(await fx.engine.imageInspect(IMAGE, s)).toBeDefined();
    expect(fx.sandbox.cachedImages().map((i) => i.ref)).toEqual([refs[2], refs[0]]);
  });
});
