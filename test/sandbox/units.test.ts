// Pure parts of the sandbox: demultiplexing, truncation, classification, the container body.
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildContainerSpec, writableBytes } from '../../src/sandbox/container-spec.js';
import { isValidImageRef } from '../../src/sandbox/images.js';
import { classify, execFailure } from '../../src/sandbox/outcome.js';
import { pumpOutput, truncationMarker, utf8SafeCut } from '../../src/sandbox/output.js';
import { spec } from './helpers.js';

const frame = (kind: 1 | 2, data: Buffer): Buffer => {
  const h = Buffer.alloc(8);
  h[0] = kind;
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
};

async function pump(chunks: Buffer[], max: number): Promise<{ out: Array<[string, string]>; res: Awaited<ReturnType<typeof pumpOutput>> }> {
  const out: Array<[string, string]> = [];
  const res = await pumpOutput(Readable.from(chunks), (c, s) => void out.push([s, c.toString()]), max);
  return { out, res };
}

describe('output demultiplexing', () => {
  it('delivers the bytes of every frame in order, with their stream, however the stream is split', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(1 as const, 2 as const), fc.string({ minLength: 1, maxLength: 40 })), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1 }),
        async (frames, cuts) => {
          const raw = Buffer.concat(frames.map(([k, s]) => frame(k, Buffer.from(s))));
          const chunks: Buffer[] = [];
          for (let i = 0, j = 0; i < raw.length; j++) {
            const n = cuts[j % cuts.length] ?? 1;
            chunks.push(raw.subarray(i, i + n));
            i += n;
          }
          // A frame split across reads arrives in pieces: compare byte by byte, each byte with its stream.
          const pieces: Array<[string, Buffer]> = [];
          const res = await pumpOutput(Readable.from(chunks), (c, s) => void pieces.push([s, Buffer.from(c)]), 1e9);
          const perByte = (parts: Array<[string, Buffer]>): string[] => parts.flatMap(([k, b]) => [...b].map((x) => `${k}:${x}`));
          expect(perByte(pieces)).toEqual(perByte(frames.map(([k, s]) => [k === 1 ? 'stdout' : 'stderr', Buffer.from(s)])));
          expect(pieces.every(([, b]) => b.length > 0)).toBe(true);
          expect(pieces.length).toBeLessThanOrEqual(frames.length + chunks.length);
          expect(res.logBytes).toBe(frames.reduce((a, [, s]) => a + Buffer.byteLength(s), 0));
        },
      ),
    );
  });

  it('cuts at the limit on a character boundary and writes the marker once', async () => {
    const { out, res } = await pump([frame(1, Buffer.from('abcé')), frame(1, Buffer.from('more')), frame(2, Buffer.from('x'))], 4);
    expect(out).toEqual([
      ['stdout', 'abc'],
      ['stderr', truncationMarker(4).toString()],
    ]);
    expect(res).toMatchObject({ truncated: true, logBytes: 3 + truncationMarker(4).length, stderrHead: 'x' });
    expect(utf8SafeCut(Buffer.from('é'), 1)).toBe(0);
  });
});

describe('classification', () => {
  const base = { cancelled: false, timedOut: false, timeoutMs: 10_000, memoryBytes: 64 * 1024 * 1024, oomKilled: false, exitCode: 0, stderrHead: '' };
  it('trusts only the OOM flag', () => {
    expect(classify({ ...base, exitCode: 137 })).toEqual({ kind: 'exit', code: 137, reason: 'exit code 137', exitCode: 137 });
    expect(classify({ ...base, oomKilled: true })).toMatchObject({ kind: 'oom', reason: 'out of memory (limit 64 MiB)' });
    expect(classify({ ...base, timedOut: true, oomKilled: true, exitCode: 137 })).toMatchObject({ kind: 'timeout', reason: 'timed out after 10 s' });
    expect(classify({ ...base, cancelled: true, timedOut: true })).toMatchObject({ kind: 'cancelled' });
  });
  it('recognises only tini exec failures as "command not found"', () => {
    expect(execFailure(127, '[FATAL tini (7)] exec foo failed: No such file or directory\n')).toBe('command not found: foo');
    expect(execFailure(127, 'sh: foo: not found\n')).toBeUndefined();
    expect(execFailure(1, '[FATAL tini (7)] exec foo failed: No such file or directory\n')).toBeUndefined();
  });
});

describe('container body', () => {
  it('never grants privileges whatever the spec says, and caps fallback tmpfs at half the memory', () => {
    const s = { ...spec({ command: ['true'] }), limits: { memoryBytes: 64 * 1024 * 1024, diskBytes: 1024 * 1024 * 1024 } };
    const b = buildContainerSpec({
      spec: s,
      instanceId: 'i',
      capabilities: { diskQuota: 'fallback', egressRules: true, storageDriver: 'overlay2' },
      networkName: 'n',
      inputMount: { Type: 'volume', Source: 'v', Target: '/task/input', ReadOnly: false },
      defaultPidsLimit: 256,
    });
    expect(b.HostConfig).toMatchObject({ Privileged: false, NetworkMode: 'n', Init: true, ReadonlyRootfs: true, MemorySwap: 64 * 1024 * 1024, CapDrop: ['ALL'], PidsLimit: 256 });
    expect(b.HostConfig.Mounts).toEqual([{ Type: 'volume', Source: 'v', Target: '/task/input', ReadOnly: true }]);
    expect(b.HostConfig.Tmpfs?.['/task']).toContain(`size=${32 * 1024 * 1024}`);
    expect(writableBytes(s, 'storage-opt')).toBe(1024 * 1024 * 1024);
  });
  it('validates image references', () => {
    expect(isValidImageRef('iron-test/busybox:1')).toBe(true);
    expect(isValidImageRef('localhost:5000/a/b:tag')).toBe(true);
    expect(isValidImageRef('upper/CASE')).toBe(false); // uppercase only in a registry host
    expect(isValidImageRef('a/../../127.0.0.1:8080')).toBe(false);
    expect(isValidImageRef('a b')).toBe(false);
  });
});
