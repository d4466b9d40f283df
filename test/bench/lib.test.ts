// The benchmark helpers that decide what gets reported: the results table in docs, the chart, and
// the protocol-watching proxy (against a real upstream HTTP server on port 0).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lineChart } from '../../bench/lib/chart.js';
import { END, renderTable, START, updateDoc } from '../../bench/lib/report.js';
import { metric } from '../../bench/lib/results.js';
import { startProxy } from '../../bench/lib/proxy.js';
import { startEngineTap } from '../../bench/lib/engine-tap.js';
import { createDockerEngine } from '../../src/sandbox/index.js';
import { objectLabels } from '../../src/sandbox/labels.js';

describe('results table', () => {
  it('renders targets and misses, and replaces only the marked section of the doc', () => {
    const results = {
      overhead_ratio: metric(1.16, 'x raw engine', 1.1),
      throughput_c1_ratio: metric(0.96, 'x raw engine', 0.9, 'min'),
      logs_100mib_s: metric(4.06, 's'),
      machine: { cores: 2, docker_engine: '20.10.24', written_at: '2026-11-22T16:00:00Z' },
    };
    const table = renderTable(results, 'npm run bench');
    expect(table).toContain('| overhead_ratio | 1.16 | x raw engine | <= 1.10 | **no** |');
    expect(table).toContain('| throughput_c1_ratio | 0.960 | x raw engine | >= 0.900 | yes |');
    expect(table).toContain('| logs_100mib_s | 4.06 | s |  |  |');
    expect(table).toContain('Docker 20.10.24');
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-doc-'));
    try {
      const doc = path.join(dir, 'benchmarks.md');
      writeFileSync(doc, `# B\n\nprose before\n\n${START}\nold\n${END}\n\nprose after\n`);
      updateDoc(doc, table);
      updateDoc(doc, table);
      const text = readFileSync(doc, 'utf8');
      expect(text).toContain('prose before');
      expect(text).toContain('prose after');
      expect(text).not.toContain('\nold\n');
      expect(text.split(START).length).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('chart', () => {
  it('draws one line and legend entry per series, scaled inside the canvas', () => {
    const svg = lineChart({
      title: 't <x>',
      xLabel: 'c',
      yLabel: 'ms',
      series: [
        {
          name: 'ours',
          color: '#f00',
          points: [
            [1, 400],
            [2, 800],
            [8, 1600],
          ],
        },
        {
          name: 'raw',
          color: '#00f',
          points: [
            [1, 350],
            [2, 700],
            [8, 1400],
          ],
        },
      ],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)?.length).toBe(2);
    expect(svg).toContain('t &lt;x&gt;');
    const ys = [...svg.matchAll(/cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(ys.length).toBe(6);
    for (const y of ys) expect(y).toBeGreaterThan(0);
  });
});

describe('runner proxy', () => {
  it('passes calls through and reports finishes the API accepted, with status and log size', async () => {
    const upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const conflict = req.url?.includes('/tasks/t2/');
        res.writeHead(conflict === true ? 409 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ echoed: body.length, path: req.url }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const proxy = await startProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    try {
      const post = async (p: string, body: unknown): Promise<{ status: number; json: { echoed: number; path: string } }> => {
        const res = await fetch(proxy.url + p, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
        return { status: res.status, json: (await res.json()) as { echoed: number; path: string } };
      };
      const r = await post('/2/clusters/c/runner/reserve', { n: 1 });
      expect(r.json.path).toBe('/2/clusters/c/runner/reserve');
      await post('/2/clusters/c/runner/reserve', { n: 1 });
      expect(proxy.reserves).toBe(2);
      const waiting = proxy.finished('t1', 5_000);
      const fin = await post('/2/clusters/c/runner/tasks/t1/finish', { status: 'complete', log_size: 42 });
      expect(fin.status).toBe(200);
      const seen = await waiting;
      expect(seen).toMatchObject({ taskId: 't1', status: 'complete', logSize: 42 });
      // A refused finish is not "complete as seen by the API".
      expect((await post('/2/clusters/c/runner/tasks/t2/finish', { status: 'complete' })).status).toBe(409);
      await expect(proxy.finished('t2', 200)).rejects.toThrow(/not finished/);
      expect(proxy.finishes.map((f) => f.taskId)).toEqual(['t1']);
    } finally {
      await proxy.close();
      await new Promise<void>((r) => upstream.close(() => r()));
    }
  });
});

describe('engine tap', () => {
  it('passes Docker calls through and notes each create call with its task and role labels', async () => {
    const tap = await startEngineTap();
    const engine = createDockerEngine({ dockerHost: tap.dockerHost });
    const task = `tap-${process.pid}-${Date.now()}`;
    const labels = objectLabels(`tap-test-${process.pid}`, task, 'job', {});
    let id: string | undefined;
    try {
      const before = performance.timeOrigin + performance.now();
      const seen = tap.createCall(task, 'job', 10_000);
      id = await engine.containerCreate(
        {
          Image: 'iron-test/busybox:1',
          Cmd: ['true'],
          Env: [],
          Labels: labels,
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
        AbortSignal.timeout(10_000),
      );
      const call = await seen;
      expect(call).toMatchObject({ taskId: task, role: 'job' });
      expect(call.epochMs).toBeGreaterThanOrEqual(before - 1);
      expect((await engine.containerInspect(id, AbortSignal.timeout(10_000))).status).toBe('created');
      await expect(tap.createCall(task, 'input-helper', 100)).rejects.toThrow(/no input-helper create call/);
    } finally {
      if (id !== undefined) await engine.containerRemove(id, AbortSignal.timeout(10_000));
      await tap.close();
    }
  });
});
