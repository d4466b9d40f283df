// Code packages end to end: a real iron-api (in-process, port 0), real iron-runner processes (one per
// job input mode, each on its own cluster), the real Docker engine, and the project's own CLI.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIron } from '../cli/helpers.js';
import { craftZip, multipartUpload } from '../helpers/zip-craft.js';
import { removeNetwork, spawnRunner, startApi, taskLog, uniqueNetwork, waitForTask, type Api, type RunnerProc } from '../runner/harness.js';

const MODES = ['auto', 'volume'] as const;
type Mode = (typeof MODES)[number];

let api: Api;
let home: string;
const network = uniqueNetwork();
const runners = new Map<Mode, { proc: RunnerProc; cluster: string; metrics: string }>();

beforeAll(async () => {
  api = await startApi();
  home = await mkdtemp(path.join(tmpdir(), 'iron-pkg-cli-'));
  const u = new URL(api.url);
  await writeFile(
    path.join(home, 'iron.json'),
    JSON.stringify({
      project_id: api.projectId,
      token: api.handle.bootstrap?.projectToken ?? '',
      host: u.hostname,
      port: Number(u.port),
      scheme: 'http',
    }),
  );
  for (const mode of MODES) {
    const c = mode === 'auto' ? { clusterId: api.clusterId, token: api.clusterToken } : await api.handle.admin.createCluster(api.projectId, 'vol');
    // 64 MiB per task (the disk-limit test relies on it), set before the runner's first reserve.
    const put = await fetch(`${api.url}/2/clusters/${c.clusterId}`, {
      method: 'PUT',
      headers: { authorization: `OAuth ${api.handle.bootstrap?.projectToken ?? ''}`, 'content-type': 'application/json' },
      body: JSON.stringify({ memory: 64 * 1024 * 1024 }),
    });
    expect(put.status).toBe(200);
    const proc = spawnRunner(api, {
      CLUSTER_ID: c.clusterId,
      CLUSTER_TOKEN: c.token,
      JOB_NETWORK: network,
      JOB_INPUT: mode,
      METRICS_ADDR: '127.0.0.1:0',
      MAX_CODE_FILES: '40',
    });
    // Only the bound port is read from this line; every assertion is on the API, the log or /metrics.
    const line = await proc.waitForEvent('endpoints.listening');
    runners.set(mode, { proc, cluster: c.clusterId, metrics: `http://${String(line['addr'])}/metrics` });
  }
});

afterAll(async () => {
  for (const r of runners.values()) await r.proc.stop();
  await removeNetwork(network);
  await api?.stop();
  await rm(home, { recursive: true, force: true });
});

const HELLO = (version: string): string =>
  [`echo "package ${version}"`, 'echo "cwd=$(pwd) task_dir=$TASK_DIR"', 'ls -1', 'cat lib/data.txt', 'cat link.txt', './bin/tool', 'echo "written by the job" > out.txt && cat out.txt'].join('\n');

/** A package directory: a script, a nested data file, an executable, an in-tree symlink. */
async function packageDir(version: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'iron-pkg-src-'));
  await writeFile(path.join(dir, 'hello.sh'), `${HELLO(version)}\n`);
  await mkdir(path.join(dir, 'lib'));
  await writeFile(path.join(dir, 'lib/data.txt'), `data of ${version}\n`);
  await mkdir(path.join(dir, 'bin'));
  await writeFile(path.join(dir, 'bin/tool'), '#!/bin/sh\necho "tool ran"\n');
  await chmod(path.join(dir, 'bin/tool'), 0o755);
  await symlink('lib/data.txt', path.join(dir, 'link.txt'));
  return dir;
}

async function iron(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runIron(args, { env: { HOME: home }, cwd: home });
}

async function queueOn(mode: Mode, code: string): Promise<string> {
  const [id] = await api.client.project.queueTasks([{ code_name: code, payload: '', cluster: runners.get(mode)?.cluster ?? '' }], AbortSignal.timeout(10_000));
  if (id === undefined) throw new Error('nothing queued');
  return id;
}

async function metric(mode: Mode, name: string): Promise<number> {
  const text = await (await fetch(runners.get(mode)?.metrics ?? '')).text();
  const m = new RegExp(`^${name} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
  return m?.[1] === undefined ? 0 : Number(m[1]);
}

async function rawUpload(data: Record<string, unknown>, zip: Buffer): Promise<Record<string, unknown>> {
  const m = multipartUpload(data, zip);
  const res = await fetch(`${api.url}/2/projects/${api.projectId}/codes`, {
    method: 'POST',
    headers: { authorization: `OAuth ${api.handle.bootstrap?.projectToken ?? ''}`, 'content-type': m.type },
    body: m.body,
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`upload failed: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

describe.each(MODES)('code packages with JOB_INPUT=%s', (mode) => {
  it('`iron worker upload --zip DIR` runs a script from the package in its directory, which the job may write', async () => {
    const dir = await packageDir(`cli-${mode}`);
    const name = `cli-${mode}`;
    const up = await iron(['worker', 'upload', '--zip', dir, '--name', name, 'iron-test/busybox:1', 'sh', 'hello.sh']);
    await rm(dir, { recursive: true, force: true });
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    const id = await queueOn(mode, name);
    const t = await waitForTask(api, id);
    const log = await taskLog(api, id);
    expect(t.status, `${t.msg ?? ''}\n${log}`).toBe('complete');
    expect(log).toContain(`package cli-${mode}`);
    expect(log).toContain('cwd=/task task_dir=/task');
    for (const f of ['hello.sh', 'lib', 'bin', 'link.txt']) expect(log.split('\n')).toContain(f);
    expect(log).toContain(`data of cli-${mode}\ndata of cli-${mode}\n`);
    expect(log).toContain('tool ran');
    expect(log).toContain('written by the job');
  });

  it("the issue's command: `iron worker upload --zip hello.zip --name zipworker IMAGE sh hello.sh`", async () => {
    const zip = path.join(home, `hello-${mode}.zip`);
    await writeFile(
      zip,
      craftZip([
        { name: 'hello.sh', data: 'echo "hello from the zip"; ls\n' },
        { name: 'extra.txt', data: 'x' },
      ]),
    );
    const name = `zipworker-${mode}`;
    const up = await iron(['worker', 'upload', '--zip', zip, '--name', name, 'iron-test/busybox:1', 'sh', 'hello.sh']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/Uploaded code package 'zipworker-\w+'/);
    const id = await queueOn(mode, name);
    const t = await waitForTask(api, id);
    expect(t.status, t.msg).toBe('complete');
    const log = await taskLog(api, id);
    expect(log).toContain('hello from the zip');
    expect(log).toContain('extra.txt');
  });

  it("a raw multipart upload (ironcli's wire format) runs too", async () => {
    const zip = craftZip([{ name: 'run.sh', data: 'echo "raw upload ran in $(pwd)"\n' }]);
    await rawUpload({ name: `raw-${mode}`, image: 'iron-test/busybox:1', command: 'sh run.sh' }, zip);
    const id = await queueOn(mode, `raw-${mode}`);
    const t = await waitForTask(api, id);
    expect(t.status, t.msg).toBe('complete');
    expect(await taskLog(api, id)).toContain('raw upload ran in /task');
  });
});

describe('revisions and the cache', () => {
  it('a task queued before a new revision runs the revision it was queued with; the new one runs the new files', async () => {
    const name = 'revs';
    const v1 = await rawUpload({ name, image: 'iron-test/busybox:1', command: 'sh run.sh' }, craftZip([{ name: 'run.sh', data: 'echo "this is v1"\n' }]));
    // Held back until both revisions exist, so the old task really runs after the new upload.
    await fetch(`${api.url}/2/projects/${api.projectId}/codes/${String(v1['id'])}/pause_task_queue`, {
      method: 'POST',
      headers: { authorization: `OAuth ${api.handle.bootstrap?.projectToken ?? ''}` },
    });
    const early = await queueOn('auto', name);
    const v2 = await rawUpload(
      { name, image: 'iron-test/busybox:1', command: 'sh run.sh' },
      craftZip([
        { name: 'run.sh', data: 'echo "this is v2"\n' },
        { name: 'new-file', data: 'x' },
      ]),
    );
    expect(v2['rev']).toBe(2);
    const late = await queueOn('auto', name);
    await fetch(`${api.url}/2/projects/${api.projectId}/codes/${String(v1['id'])}/resume_task_queue`, {
      method: 'POST',
      headers: { authorization: `OAuth ${api.handle.bootstrap?.projectToken ?? ''}` },
    });
    const [a, b] = await Promise.all([waitForTask(api, early), waitForTask(api, late)]);
    expect(a.status, a.msg).toBe('complete');
    expect(b.status, b.msg).toBe('complete');
    expect(a.code_rev).toBe('1');
    expect(b.code_rev).toBe('2');
    expect(await taskLog(api, early)).toContain('this is v1');
    expect(await taskLog(api, late)).toContain('this is v2');
  });

  it('the second task of a revision downloads nothing', async () => {
    const name = 'cached';
    await rawUpload({ name, image: 'iron-test/busybox:1', command: 'sh run.sh' }, craftZip([{ name: 'run.sh', data: `echo "cached ${randomBytes(4).toString('hex')}"\n` }]));
    const first = await queueOn('volume', name);
    expect((await waitForTask(api, first)).status).toBe('complete');
    const downloads = await metric('volume', 'iron_runner_code_downloads_total');
    const hits = await metric('volume', 'iron_runner_code_cache_hits_total');
    expect(downloads).toBeGreaterThan(0);
    const second = await queueOn('volume', name);
    const t = await waitForTask(api, second);
    expect(t.status, t.msg).toBe('complete');
    expect(await taskLog(api, second)).toContain('cached ');
    expect(await metric('volume', 'iron_runner_code_downloads_total')).toBe(downloads);
    expect(await metric('volume', 'iron_runner_code_cache_hits_total')).toBe(hits + 1);
  });
});

describe('packages the runner refuses', () => {
  it('a package whose bytes do not match its sha256 ends `error` and never runs', async () => {
    const name = 'tampered';
    const code = await rawUpload({ name, image: 'iron-test/busybox:1', command: 'sh run.sh' }, craftZip([{ name: 'run.sh', data: 'echo "original"\n' }]));
    // Someone with access to the API's disk swaps the stored bytes (same size, other content).
    const stored = path.join(api.dataDir, 'code', `${String(code['latest_history_id'])}.zip`);
    await writeFile(stored, craftZip([{ name: 'run.sh', data: 'echo "swapped!"\n' }]));
    const id = await queueOn('auto', name);
    const t = await waitForTask(api, id);
    expect(t.status).toBe('error');
    expect(t.msg).toMatch(/sha256/);
    expect(await taskLog(api, id)).not.toContain('swapped');
  });

  it('the runner checks the zip rules again (a package stored under laxer limits ends `error`)', async () => {
    const name = 'many-files';
    // iron-api allows 10000 entries; these runners were started with MAX_CODE_FILES=40.
    await rawUpload({ name, image: 'iron-test/busybox:1', command: 'sh f0' }, craftZip(Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, data: 'echo x\n' }))));
    const id = await queueOn('auto', name);
    const t = await waitForTask(api, id);
    expect(t.status).toBe('error');
    expect(t.msg).toContain('ERR_ZIP_TOO_MANY_ENTRIES');
  });

  it("a legacy zip without an image (the npm client's upload) ends `error` with a msg that says so", async () => {
    await rawUpload({ name: 'no-image', file_name: '__runner__.sh', runtime: 'sh' }, craftZip([{ name: '__runner__.sh', data: 'node worker.js\n' }]));
    const id = await queueOn('auto', 'no-image');
    const t = await waitForTask(api, id);
    expect(t.status).toBe('error');
    expect(t.msg).toMatch(/no image/);
  });

  it("a package larger than the task's disk limit ends `error` before it is unpacked", async () => {
    const name = 'too-big';
    // Tasks of these clusters get 64 MiB (beforeAll): the fallback disk limit (a tmpfs) is half of that.
    await rawUpload(
      { name, image: 'iron-test/busybox:1', command: 'sh run.sh' },
      craftZip([
        { name: 'run.sh', data: 'echo never\n' },
        { name: 'blob', data: randomBytes(40 * 1024 * 1024) },
      ]),
    );
    const id = await queueOn('auto', name);
    const t = await waitForTask(api, id);
    expect(t.status, `${t.msg ?? ''} ${await taskLog(api, id)}`).toBe('error');
    expect(t.msg).toMatch(/disk limit/);
  });
});

describe('a runner whose input directory cannot hold the package', () => {
  it('ends the task `error` (instead of giving it back forever) and keeps serving', async () => {
    const jobsDir = await mkdtemp(path.join(tmpdir(), 'iron-pkg-tiny-'));
    await mkdir(path.join(jobsDir, 'input'), { mode: 0o700 });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', path.join(jobsDir, 'input')]);
    const c = await api.handle.admin.createCluster(api.projectId, 'tiny');
    const proc = spawnRunner(api, { CLUSTER_ID: c.clusterId, CLUSTER_TOKEN: c.token, JOB_NETWORK: network, JOB_INPUT: 'auto' }, jobsDir);
    try {
      await rawUpload(
        { name: 'wide', image: 'iron-test/busybox:1', command: 'sh run.sh' },
        craftZip([
          { name: 'run.sh', data: 'echo never\n' },
          { name: 'blob', data: randomBytes(3 * 1024 * 1024) },
        ]),
      );
      const [big] = await api.client.project.queueTasks([{ code_name: 'wide', payload: '', cluster: c.clusterId }], AbortSignal.timeout(10_000));
      const t = await waitForTask(api, big ?? '');
      expect(t.status).toBe('error');
      expect(t.msg).toMatch(/no room for the code package/);
      await rawUpload({ name: 'narrow', image: 'iron-test/busybox:1', command: 'sh run.sh' }, craftZip([{ name: 'run.sh', data: 'echo fits\n' }]));
      const [small] = await api.client.project.queueTasks([{ code_name: 'narrow', payload: '', cluster: c.clusterId }], AbortSignal.timeout(10_000));
      const ok = await waitForTask(api, small ?? '');
      expect(ok.status, ok.msg).toBe('complete');
    } finally {
      await proc.stop();
      execFileSync('umount', [path.join(jobsDir, 'input')]);
      await rm(jobsDir, { recursive: true, force: true });
    }
  });
});
