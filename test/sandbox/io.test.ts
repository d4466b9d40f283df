// What goes into the container (env, payload, config) and what comes out (stream, truncation,
// back-pressure), plus timeout and cancel.
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collector, makeFixture, MiB, never, sh, spec, type Fixture, runTask } from './helpers.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture({ maxLogBytes: 10 * MiB, stopGraceMs: 1_000 });
});
afterAll(async () => {
  await fx.cleanup();
});

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

describe('job contract', () => {
  it('gives the task its env vars and the contract variables, never the runner env', async () => {
    process.env['CLUSTER_TOKEN'] = 'runner-secret-token-xyz';
    process.env['DECRYPTION_KEY'] = 'runner-secret-key-xyz';
    try {
      const io = collector();
      const task = spec({ command: sh('env'), env: { MY_VAR: 'a b=c', TASK_ID: 'spoofed' } });
      const out = await runTask(fx.sandbox, task, io, never());
      expect(out.status).toBe('complete');
      const env = io.stdout();
      expect(env).toContain('MY_VAR=a b=c\n');
      expect(env).toContain(`TASK_ID=${task.taskId}\n`);
      expect(env).toContain('TASK_DIR=/task\n');
      expect(env).toContain('PAYLOAD_FILE=/task/input/payload\n');
      expect(env).toContain('CONFIG_FILE=/task/input/config\n');
      expect(env).not.toContain('runner-secret');
      expect(env).not.toMatch(/CLUSTER_TOKEN|DECRYPTION_KEY/);
    } finally {
      delete process.env['CLUSTER_TOKEN'];
      delete process.env['DECRYPTION_KEY'];
    }
  });

  it.each([
    ['empty', Buffer.alloc(0), ''],
    ['small', Buffer.from('{"hello":"wörld"}'), 'cfg: 1\n'],
    ['64 KiB binary', randomBytes(64 * 1024), 'x'.repeat(64 * 1024)],
  ])('delivers %s payload and config byte for byte, read-only, in a writable TASK_DIR', async (_name, payload, config) => {
    const io = collector();
    const script = 'sha256sum "$PAYLOAD_FILE" "$CONFIG_FILE" | cut -d" " -f1; wc -c < "$PAYLOAD_FILE"; echo more >> "$PAYLOAD_FILE" && echo WRITABLE; echo ok > "$TASK_DIR/out" && cat "$TASK_DIR/out"';
    const out = await runTask(fx.sandbox, spec({ command: sh(script), payload, config }), io, never());
    expect(out.status).toBe('complete');
    const lines = io
      .stdout()
      .trim()
      .split('\n')
      .map((l) => l.trim());
    expect(lines).toEqual([sha(payload), sha(config), String(payload.length), 'ok']);
    expect(io.stderr()).toMatch(/Read-only file system/);
  });
});

describe('output', () => {
  it('streams 100 MiB with bounded memory and writes the marker exactly at the limit', async () => {
    const limit = 10 * MiB;
    let stdout = 0;
    let markerAt = -1;
    let marker = '';
    let peakRss = 0;
    const rss0 = process.memoryUsage().rss;
    const out = await runTask(
      fx.sandbox,
      spec({ command: sh('yes 0123456789012345678901234567890123456789 | head -c 104857600; echo done >&2') }),
      {
        onOutput(chunk, stream) {
          if (stream === 'stdout') stdout += chunk.length;
          else if (markerAt < 0) {
            markerAt = stdout;
            marker = chunk.toString();
          }
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
        },
      },
      never(),
    );
    expect(out.status).toBe('complete');
    expect(out.truncated).toBe(true);
    expect(markerAt).toBe(limit);
    expect(stdout).toBe(limit);
    expect(marker).toContain('log truncated');
    expect(out.logBytes).toBe(limit + Buffer.byteLength(marker));
    expect(peakRss - rss0).toBeLessThan(64 * MiB);
  });

  it('applies back-pressure: a stalled consumer stalls the job instead of buffering', async () => {
    const chunks: number[] = [];
    let stalled = false;
    const t0 = Date.now();
    const out = await runTask(
      fx.sandbox,
      spec({ command: sh('head -c 8388608 /dev/zero; date +%s >&2') }),
      {
        async onOutput(chunk, stream) {
          if (stream === 'stdout') chunks.push(chunk.length);
          if (!stalled) {
            stalled = true;
            await sleep(2_500);
          }
        },
      },
      never(),
    );
    expect(out.status).toBe('complete');
    expect(chunks.reduce((a, b) => a + b, 0)).toBe(8 * MiB);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2_500);
  });
});

describe('timeout and cancel', () => {
  it('times out with the limit in the msg, SIGKILLing a job that ignores SIGTERM', async () => {
    const t0 = Date.now();
    const out = await runTask(fx.sandbox, spec({ command: sh('trap "" TERM; echo started; while true; do sleep 1; done'), timeoutMs: 1_500 }), collector(), never());
    expect(out).toMatchObject({ status: 'timeout', msg: 'timed out after 1.5 s' });
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('cancels mid-run: SIGTERM reaches the job through tini, the container is removed', async () => {
    const ac = new AbortController();
    const io = collector();
    const out = await runTask(
      fx.sandbox,
      spec({ command: sh('trap "echo got-term; exit 143" TERM; echo started; while true; do sleep 0.1; done') }),
      {
        onOutput(chunk, stream) {
          void io.onOutput(chunk, stream);
          if (chunk.toString().includes('started')) ac.abort();
        },
      },
      ac.signal,
    );
    expect(out).toMatchObject({ status: 'cancelled', msg: 'cancelled' });
    expect(io.stdout()).toContain('got-term');
  });

  it('resolves cancelled without creating anything when aborted before the call', async () => {
    const ac = new AbortController();
    ac.abort();
    const out = await runTask(fx.sandbox, spec({ command: sh('echo never') }), collector(), ac.signal);
    expect(out.status).toBe('cancelled');
  });
});
