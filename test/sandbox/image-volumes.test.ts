// An image that declares VOLUME gets no host disk past the task's limit (issue 13 item 10: 400 MiB
// written to /data with the disk limit at 128 MiB). The declared path is a size-limited tmpfs,
// counted in the memory limit, instead of an anonymous volume on the engine's disk.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContainerSpec, declaredVolumes } from '../../src/sandbox/container-spec.js';
import { collector, makeFixture, never, sh, spec, type Fixture, runTask } from './helpers.js';

const MiB = 1024 * 1024;
const IMAGE = `iron-test/volumes:${randomBytes(4).toString('hex')}`;
let fx: Fixture;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'iron-vol-image-'));
  try {
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM iron-test/busybox:1\nVOLUME /data\nVOLUME ["/var/lib/app/", "/tmp"]\n');
    execFileSync('docker', ['build', '-q', '--label', 'io.iron-runner.test=1', '-t', IMAGE, dir], { stdio: 'pipe', env: { ...process.env, DOCKER_BUILDKIT: '0' } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  fx = await makeFixture();
}, 120_000);

afterAll(async () => {
  await fx?.cleanup();
  execFileSync('docker', ['image', 'rm', '-f', IMAGE], { stdio: 'pipe' });
});

describe('image-declared volumes', () => {
  it('are size-limited tmpfs mounts (not engine volumes): writing past the limit fails with ENOSPC', async () => {
    const io = collector();
    const script = ['grep -E " /(data|var/lib/app) " /proc/mounts | cut -d" " -f2,3', 'dd if=/dev/zero of=/data/big bs=1M count=200 2>/dev/null; echo "dd=$?"', 'du -sm /data | cut -f1'].join('; ');
    const out = await runTask(fx.sandbox, spec({ image: IMAGE, command: sh(script), limits: { memoryBytes: 128 * MiB, diskBytes: 16 * MiB } }), io, never());
    expect(out.status, io.stderr()).toBe('complete');
    const lines = io.stdout().trim().split('\n');
    expect(lines).toContain('/data tmpfs');
    expect(lines).toContain('/var/lib/app tmpfs');
    expect(lines).toContain('dd=1');
    expect(Number(lines.at(-1))).toBeLessThanOrEqual(16);
  });

  it('the create body maps each declared path once, never over the input mount', () => {
    const body = buildContainerSpec({
      spec: spec({ limits: { memoryBytes: 64 * MiB } }),
      instanceId: 'i',
      capabilities: { diskQuota: 'storage-opt', egressRules: true, storageDriver: 'overlay2' },
      networkName: 'n',
      inputMount: { Type: 'volume', Source: 'v', Target: '/task/input', ReadOnly: true },
      defaultPidsLimit: 64,
      imageVolumes: ['/data', '/data/', '/task/input', '/a/../b'],
    });
    expect(Object.keys(body.HostConfig.Tmpfs ?? {}).sort()).toEqual(['/b', '/data']);
    expect(declaredVolumes(['/ok', 'relative', '/', '/a:b', 'C:\\data']).unsupported).toEqual(['relative', '/', '/a:b', 'C:\\data']);
    expect(body.HostConfig.Tmpfs?.['/data']).toContain(`size=${32 * MiB}`);
  });
});
