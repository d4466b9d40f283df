// Resource limits against the real engine: memory (OOM is reported only when the engine says so),
// disk (fallback tmpfs: ENOSPC, host disk unchanged), pids (fork bomb contained), read-only root.
import { statfsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collector, makeFixture, MiB, never, sh, spec, type Fixture, runTask } from './helpers.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture();
});
afterAll(async () => {
  await fx.cleanup();
});

const hostFree = (): number => {
  const s = statfsSync('/var/lib/docker');
  return s.bavail * s.bsize;
};

describe('memory', () => {
  it('reports a memory hog as killed with the limit in the msg', async () => {
    const out = await runTask(fx.sandbox, spec({ command: sh('x=a; while true; do x="$x$x"; done'), limits: { memoryBytes: 32 * MiB } }), collector(), never());
    expect(out).toMatchObject({ status: 'killed', msg: 'out of memory (limit 32 MiB)', exitCode: 137 });
  });

  it('still reports OOM when only a child was killed and the shell exits 0', async () => {
    const script = 'sh -c \'x=a; while true; do x="$x$x"; done\'; echo "child status $?"; exit 0';
    const io = collector();
    const out = await runTask(fx.sandbox, spec({ command: sh(script), limits: { memoryBytes: 32 * MiB } }), io, never());
    expect(io.stdout()).toContain('child status 137');
    expect(out).toMatchObject({ status: 'killed', exitCode: 0 });
    expect(out.msg).toBe('out of memory (limit 32 MiB)');
  });

  it('does not take exit 137 from kill -9 for OOM', async () => {
    const out = await runTask(fx.sandbox, spec({ command: sh('kill -9 $$') }), collector(), never());
    expect(out).toMatchObject({ status: 'error', msg: 'exit code 137', exitCode: 137 });
  });
});

describe('disk', () => {
  it('refuses writes to the root filesystem', async () => {
    const io = collector();
    const out = await runTask(fx.sandbox, spec({ command: sh('echo x > /x') }), io, never());
    expect(out.status).toBe('error');
    expect(io.stderr()).toContain('Read-only file system');
  });

  it('fails a disk filler with "no space" and leaves the host disk as it was', async () => {
    const before = hostFree();
    const io = collector();
    const task = spec({
      command: sh('dd if=/dev/zero of="$TASK_DIR/fill" bs=1M count=200; r1=$?; dd if=/dev/zero of=/tmp/fill bs=1M count=200; echo "rc $r1 $?"; exit $r1'),
      limits: { memoryBytes: 128 * MiB, diskBytes: 16 * MiB },
    });
    const out = await runTask(fx.sandbox, task, io, never());
    expect(out.status).toBe('error');
    expect(io.stderr()).toMatch(/No space left on device/);
    expect(io.stdout()).toMatch(/rc 1 1/);
    // Other tests write to the same disk in parallel; 100 MiB of slack is still far below the 400 MiB asked for.
    expect(Math.abs(hostFree() - before)).toBeLessThan(100 * MiB);
  });
});

describe('pids and cpu', () => {
  it('contains a fork bomb within the pids limit until the timeout kills it', async () => {
    // The job's own shell forks once, while every pid is free (the bomb runs in that one background
    // subshell), then becomes `sleep`: it never needs a pid the bomb took. With the bomb started from
    // the job's shell itself, the shell had to fork the pipeline's second half after the first half
    // had used up the pids, and a fast bomb made it exit 2 ('error' instead of 'timeout', seen in CI).
    const io = collector();
    const t0 = Date.now();
    const out = await runTask(fx.sandbox, spec({ command: sh('(b(){ b | b & }; b) & exec sleep 60'), limits: { memoryBytes: 64 * MiB, pidsLimit: 32 }, timeoutMs: 3_000 }), io, never());
    expect(out.status).toBe('timeout');
    expect(io.stderr()).toMatch(/can't fork/);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('applies the pids, memory and cpu limits to the container cgroup', async () => {
    const io = collector();
    const script =
      'cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares';
    const out = await runTask(fx.sandbox, spec({ command: sh(script), limits: { memoryBytes: 48 * MiB, pidsLimit: 77, nanoCpus: 500_000_000, cpuShares: 512 } }), io, never());
    expect(out.status).toBe('complete');
    expect(io.stdout().split('\n').slice(0, 5)).toEqual(['77', String(48 * MiB), String(48 * MiB), '50000', '512']);
  });

  it('runs with no-new-privileges and a reduced capability set', async () => {
    const io = collector();
    const out = await runTask(fx.sandbox, spec({ command: sh('grep -E "^(CapEff|NoNewPrivs)" /proc/self/status') }), io, never());
    expect(out.status).toBe('complete');
    expect(io.stdout()).toContain('NoNewPrivs:\t1');
    // CHOWN DAC_OVERRIDE FOWNER KILL SETGID SETUID NET_BIND_SERVICE = bits 0,1,3,5,6,7,10
    expect(io.stdout()).toContain('CapEff:\t00000000000004eb');
  });
});
