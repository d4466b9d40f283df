// Proves the CI machine's engine and locally built images are usable: a real container starts from
// the local test image, its output comes back, and nothing is left behind.
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { removeLabelled, TEST_IMAGE, testDocker } from '../helpers/docker.js';

const docker = testDocker();
const run = randomUUID();

describe('docker engine', () => {
  afterAll(async () => {
    expect(await removeLabelled(docker, 'iron.test.run', run)).toBe(0);
  });

  it('answers and reports its storage driver', async () => {
    const info = (await docker.info()) as { Driver: string; ServerVersion: string };
    expect(info.ServerVersion).toMatch(/^\d+\./);
    expect(info.Driver.length).toBeGreaterThan(0);
  });

  it('runs a container from the locally built test image and returns its output', async () => {
    await docker.getImage(TEST_IMAGE).inspect();
    const container = await docker.createContainer({
      Image: TEST_IMAGE,
      Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'],
      Labels: { 'iron.test.run': run },
      HostConfig: { Init: true, NetworkMode: 'none', Memory: 32 * 1024 * 1024 },
    });
    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const out = new PassThrough();
      const err = new PassThrough();
      const chunks: { out: string[]; err: string[] } = { out: [], err: [] };
      out.on('data', (c: Buffer) => chunks.out.push(c.toString()));
      err.on('data', (c: Buffer) => chunks.err.push(c.toString()));
      const modem = container.modem as { demuxStream(s: NodeJS.ReadableStream, o: NodeJS.WritableStream, e: NodeJS.WritableStream): void };
      modem.demuxStream(stream, out, err);
      const ended = new Promise((resolve) => stream.on('end', resolve));
      await container.start();
      const result = (await container.wait()) as { StatusCode: number };
      await ended;
      expect(result.StatusCode).toBe(3);
      expect(chunks.out.join('')).toBe('out\n');
      expect(chunks.err.join('')).toBe('err\n');
    } finally {
      await container.remove({ force: true });
    }
  });
});
