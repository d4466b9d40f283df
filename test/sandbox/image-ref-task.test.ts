// A task whose image is not a Docker reference ends `error` before the sandbox makes any engine call
// (issue 13 item 2: `a/../../HOST:PORT` became a path the engine redirected, and the runner followed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createDockerEngine } from '../../src/sandbox/index.js';
import { ImageCache } from '../../src/sandbox/images.js';
import { ImageProvenance } from '../../src/sandbox/image-provenance.js';
import { prepareTask, type RunContext } from '../../src/sandbox/prepare.js';
import type { JobInput } from '../../src/sandbox/input-contract.js';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engine.js';

let fake: FakeEngine;
beforeAll(async () => {
  fake = await startFakeEngine();
  fake.handle((_req, res) => {
    res.writeHead(301, { location: 'http://127.0.0.1:9/' });
    res.end();
  });
});
afterAll(async () => fake.close());

describe('image references checked before the engine', () => {
  it.each(['a/../../127.0.0.1:9', 'x/%2e%2e/y', 'Image With Spaces'])('%j ends error with no engine call', async (image) => {
    const engine = createDockerEngine({ socketPath: fake.socket });
    const log = silentLogger();
    const input: JobInput = { prepare: () => Promise.reject(new Error('must not be reached')) };
    const ctx: RunContext = {
      engine,
      log,
      images: new ImageCache(engine, log, { pullTimeoutMs: 1_000, cacheBytes: undefined }, new ImageProvenance(undefined, log)),
      input,
      capabilities: { diskQuota: 'fallback', egressRules: false, storageDriver: 'overlay2' },
      networkName: 'none',
      instanceId: 'i1',
      maxLogBytes: 1024,
      stopGraceMs: 100,
      defaultPidsLimit: 64,
    };
    const prepared = await prepareTask(
      ctx,
      {
        taskId: 't1',
        image,
        env: {},
        payload: Buffer.alloc(0),
        config: '',
        limits: { memoryBytes: 64 << 20 },
        timeoutMs: 1_000,
        labels: {},
      },
      AbortSignal.timeout(10_000),
    );
    expect(prepared.runnable).toBe(false);
    const outcome = await prepared.wait();
    await prepared.dispose();
    expect(outcome.kind).toBe('refused');
    expect(outcome.reason).toMatch(/^invalid image/);
    expect(fake.requests).toEqual([]);
  });
});
