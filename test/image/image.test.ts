// The shipped images end to end, on the real engine: iron/api in a container, iron/runner containers
// started with --privileged and env vars only (their own Docker engine inside), job images preloaded
// from a read-only `docker save` mount. Needs `npm run images` first; IRON_SKIP_IMAGE_TESTS=1 skips.
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStrictJson } from '../helpers/strict-json.js';
import { waitFor } from '../helpers/wait.js';
import { API_IMAGE, docker, dockerRc, JOB_IMAGE, RUNNER_IMAGE, Stack } from './stack.js';

const skip = process.env['IRON_SKIP_IMAGE_TESTS'] === '1';
const run = promisify(execFile);

const DEFAULT_RUNNER_ENV = { CONCURRENCY: '2', DISK_PER_JOB: '64M', DRAIN_TIMEOUT: '60s', LOG_FORMAT: 'json' };

describe.skipIf(skip)('iron/runner and iron/api images', () => {
  const stack = new Stack();
  const runners: string[] = [];
  let secureCluster = { id: '', token: '' };
  let apiUrl = '';

  beforeAll(async () => {
    for (const image of [RUNNER_IMAGE, API_IMAGE, JOB_IMAGE]) {
      const r = await dockerRc(['image', 'inspect', image]);
      if (r.code !== 0) throw new Error(`image ${image} is missing: run "npm run images" (or set IRON_SKIP_IMAGE_TESTS=1)`);
    }
    await stack.savePreload();
    // A short lease so a runner removed with rm -f hands its task back within seconds.
    const api = await stack.startApi({ LEASE: '5s' });
    apiUrl = api.url;
    await stack.iron(['register', '--name', 'echo', JOB_IMAGE, `sh -c 'sleep 1; echo task=$TASK_ID; echo payload=$(cat $PAYLOAD_FILE)'`]);
    await stack.iron(['register', '--name', 'slow', JOB_IMAGE, `sh -c 'echo slow-begin; sleep 5; echo slow-done'`]);
    await stack.iron(['register', '--name', 'fill', JOB_IMAGE, `sh -c 'dd if=/dev/zero of=/big bs=1M count=200'`]);
    await stack.iron(['keygen', '--out', '/tmp/keys']);
    const secure = JSON.parse(await stack.iron(['cluster', 'create', '--json', 'secure'])) as { id: string; token: string };
    secureCluster = { id: secure.id, token: secure.token };
    for (const n of ['r1', 'r2']) {
      const { name } = await stack.startRunner(n, { CLUSTER_ID: api.clusterId, CLUSTER_TOKEN: api.clusterToken, ...DEFAULT_RUNNER_ENV });
      runners.push(name);
    }
    await Promise.all(runners.map((r) => stack.waitReady(r)));
  }, 180_000);

  afterAll(async () => {
    await stack.cleanup();
  }, 120_000);

  it('serves the built HUD from iron/api: / redirects to /hud/, index and assets with their headers', async () => {
    const root = await fetch(`${apiUrl}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/hud/');
    const index = await fetch(`${apiUrl}/hud/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await index.text();
    const js = /src="(\/hud\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(js).toBeDefined();
    const asset = await fetch(`${apiUrl}${js ?? ''}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    await asset.body?.cancel();
  });

  it("runs Debian 13's engine (docker.io 26.1) with crun inside the runner", async () => {
    const v = (await docker(['exec', runners[0]!, 'docker', 'version', '--format', '{{.Server.Version}}'])).trim();
    const runtime = (await docker(['exec', runners[0]!, 'docker', 'info', '--format', '{{.DefaultRuntime}}'])).trim();
    console.log(`image: inner engine ${v}, default runtime ${runtime}`);
    expect(v).toMatch(/^26\.1\./);
    expect(runtime).toBe('iron-crun');
  });

  it('refuses a loopback API_URL in a container with a network of its own: exit 2 and a hint', async () => {
    const r = await dockerRc([
      'run',
      '--rm',
      '--privileged',
      '--label',
      `iron.test=${stack.id}`,
      '--network',
      stack.network,
      '-e',
      'CLUSTER_ID=c1',
      '-e',
      'CLUSTER_TOKEN=not-a-real-token',
      RUNNER_IMAGE,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('API_URL http://127.0.0.1:8080 is the container itself');
    expect(r.stderr).not.toContain('not-a-real-token');
  }, 60_000);

  async function queue(cluster: string, code: string, extra: string[] = []): Promise<string> {
    const out = JSON.parse(await stack.iron(['worker', 'queue', '--json', '--cluster', cluster, ...extra, code])) as { tasks: Array<{ id: string }> };
    const id = out.tasks[0]?.id;
    if (id === undefined) throw new Error('queue returned no task id');
    return id;
  }

  async function ranOn(taskId: string): Promise<string[]> {
    const on: string[] = [];
    for (const r of runners) {
      const logs = await dockerRc(['logs', r]);
      if (logs.stderr.includes(`"task_id":"${taskId}"`)) on.push(r);
    }
    return on;
  }

  it('runs 10 tasks (4 with encrypted payloads) to completion with their logs, spread over the runners', async () => {
    const api = stack.api!;
    const plain: Array<{ id: string; payload: string }> = [];
    for (let i = 0; i < 6; i++) plain.push({ id: await queue(api.clusterId, 'echo', ['-p', `plain-${i}`]), payload: `plain-${i}` });
    // Encrypted tasks are queued before their runner exists: the pickup time below is from `docker run`.
    const secret: Array<{ id: string; payload: string }> = [];
    for (let i = 0; i < 4; i++) {
      secret.push({ id: await queue(secureCluster.id, 'echo', ['-p', `secret-${i}`, '--encryption-key-file', '/tmp/keys/public_key.pem']), payload: `secret-${i}` });
    }
    const privateKey = await docker(['exec', api.container, 'cat', '/tmp/keys/private_key.pem']);
    const r3 = await stack.startRunner('r3', {
      CLUSTER_ID: secureCluster.id,
      CLUSTER_TOKEN: secureCluster.token,
      DECRYPTION_KEY: privateKey,
      CONCURRENCY: '4',
      LOG_FORMAT: 'json',
    });

    for (const t of [...plain, ...secret]) {
      const done = await stack.waitDone(t.id, 90_000);
      expect(done.status, `${t.id}: ${done.msg ?? ''}`).toBe('complete');
      const log = await stack.taskLog(t.id);
      expect(log).toContain(`task=${t.id}`);
      expect(log).toContain(`payload=${t.payload}`);
    }
    const starts = await Promise.all(secret.map(async (t) => Date.parse((await stack.task(t.id)).start_time ?? '')));
    const firstStart = Math.min(...starts);
    console.log(`image: docker run -> first task started: ${firstStart - r3.startedAt} ms`);
    expect(firstStart - r3.startedAt).toBeLessThan(60_000);

    const placement = await Promise.all(plain.map((t) => ranOn(t.id)));
    for (const p of placement) expect(p).toHaveLength(1);
    const used = new Set(placement.map((p) => p[0]));
    expect(used.size, 'the 6 plain tasks ran on both runners').toBe(2);
  }, 180_000);

  it('uses a mounted Docker socket instead of starting an engine, and exits 2 on bad configuration', async () => {
    const r = await dockerRc([
      'run',
      '--rm',
      '--label',
      `iron.test=${stack.id}`,
      '--network',
      'none',
      '-v',
      '/var/run/docker.sock:/var/run/docker.sock',
      '-e',
      'CLUSTER_TOKEN=not-a-real-token',
      RUNNER_IMAGE,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not starting one');
    expect(r.stderr).toContain('CLUSTER_ID');
    expect(r.stderr).not.toContain('not-a-real-token');
  });

  it('keeps the secrets out of dockerd: only the runner gets them, as files on a tmpfs; task input is on a tmpfs too', async () => {
    const r3 = stack.name('r3');
    const check = `
      d=$(cat /var/run/docker.pid); n=$(pidof node)
      tr '\\0' '\\n' </proc/$d/environ | grep -c -e '^DECRYPTION_KEY' -e '^CLUSTER_TOKEN' || true
      tr '\\0' '\\n' </proc/$n/environ | grep -c -e '^DECRYPTION_KEY=' -e '^CLUSTER_TOKEN=' || true
      tr '\\0' '\\n' </proc/$n/environ | grep -c -e '^DECRYPTION_KEY_FILE=/run/iron-secrets/' -e '^CLUSTER_TOKEN_FILE=/run/iron-secrets/' || true
      findmnt -n -o FSTYPE /run/iron-secrets
      findmnt -n -o FSTYPE /var/lib/iron-runner/input
      ls -A /var/lib/iron-runner/input | wc -l`;
    const out = (await docker(['exec', r3, 'bash', '-c', check])).trim().split('\n');
    expect(out).toEqual(['0', '0', '2', 'tmpfs', 'tmpfs', '0']);
    // r3 ran tasks in the first test: their input was bound from that tmpfs, not put into volumes.
    expect((await dockerRc(['logs', r3])).stderr).toContain('job input: read-only bind of a per-task directory');
  });

  it('fails a task that writes past DISK_PER_JOB with the quota error (btrfs loop in the runner)', async () => {
    const id = await queue(stack.api!.clusterId, 'fill');
    const done = await stack.waitDone(id, 60_000);
    const log = await stack.taskLog(id);
    expect(done.status, `status ${done.status}, log: ${log}`).not.toBe('complete');
    expect(log).toContain('Disk quota exceeded');
  }, 90_000);

  it('runs a code package uploaded with `iron worker upload --zip DIR`, twice (quota mode, bind input)', async () => {
    const api = stack.api!;
    await docker([
      'exec',
      api.container,
      'sh',
      '-c',
      'rm -rf /tmp/pkg && mkdir -p /tmp/pkg/lib && printf \'%s\\n\' "echo pkg-ran-in-\\$(pwd)" "cat lib/data" "echo job-wrote > w.txt && cat w.txt" > /tmp/pkg/hello.sh && echo data-ok > /tmp/pkg/lib/data',
    ]);
    await stack.iron(['worker', 'upload', '--zip', '/tmp/pkg', '--name', 'pkg', JOB_IMAGE, 'sh', 'hello.sh']);
    for (let i = 0; i < 2; i++) {
      const id = await queue(api.clusterId, 'pkg');
      const done = await stack.waitDone(id, 60_000);
      const log = await stack.taskLog(id);
      expect(done.status, `${done.msg ?? ''} ${log}`).toBe('complete');
      expect(log).toContain('pkg-ran-in-/task');
      expect(log).toContain('data-ok');
      expect(log).toContain('job-wrote');
    }
  }, 120_000);

  it('restarts the inner dockerd when it hangs (alive, /_ping unanswered), and the runner goes on taking tasks', async () => {
    const r = runners[0]!;
    const before = (await docker(['exec', r, 'cat', '/var/run/docker.pid'])).trim();
    // SIGSTOP: the process is there but answers nothing, as in Docker 20.10's libnetwork deadlock.
    await docker(['exec', r, 'sh', '-c', 'kill -STOP "$(cat /var/run/docker.pid)"']);
    await waitFor(
      'a new inner dockerd',
      async () => {
        const v = await dockerRc(['exec', r, 'docker', 'version', '--format', '{{.Server.Version}}']);
        const pid = (await dockerRc(['exec', r, 'cat', '/var/run/docker.pid'])).stdout.trim();
        return v.code === 0 && pid !== '' && pid !== before ? true : undefined;
      },
      { timeoutMs: 90_000, everyMs: 500 },
    );
    expect((await dockerRc(['logs', r])).stderr).toContain('killing the hung engine');
    const ids = [await queue(stack.api!.clusterId, 'echo', ['-p', 'after-hang-0']), await queue(stack.api!.clusterId, 'echo', ['-p', 'after-hang-1'])];
    for (const id of ids) expect((await stack.waitDone(id, 60_000)).status).toBe('complete');
  }, 150_000);

  it('restarts the inner dockerd when it dies, and the runner goes on taking tasks', async () => {
    const r = runners[1]!;
    const before = (await docker(['exec', r, 'cat', '/var/run/docker.pid'])).trim();
    await docker(['exec', r, 'sh', '-c', 'kill -9 "$(cat /var/run/docker.pid)"']);
    await waitFor(
      'a new inner dockerd',
      async () => {
        const v = await dockerRc(['exec', r, 'docker', 'version', '--format', '{{.Server.Version}}']);
        const pid = (await dockerRc(['exec', r, 'cat', '/var/run/docker.pid'])).stdout.trim();
        return v.code === 0 && pid !== '' && pid !== before ? true : undefined;
      },
      { timeoutMs: 60_000, everyMs: 500 },
    );
    const ids = [await queue(stack.api!.clusterId, 'echo', ['-p', 'after-restart-0']), await queue(stack.api!.clusterId, 'echo', ['-p', 'after-restart-1'])];
    for (const id of ids) expect((await stack.waitDone(id, 60_000)).status).toBe('complete');
  }, 120_000);

  it('drains on docker stop: the running task completes and the runner exits 0', async () => {
    const id = await queue(stack.api!.clusterId, 'slow');
    await waitFor('slow task running', async () => ((await stack.task(id)).status === 'running' ? true : undefined), { timeoutMs: 30_000, everyMs: 250 });
    const [holder] = await waitFor(
      'the runner holding the task',
      async () => {
        const busy = await stack.runnersWithJobs(runners);
        return busy.length === 1 ? busy : undefined;
      },
      { timeoutMs: 10_000, everyMs: 250 },
    );
    const t0 = Date.now();
    await docker(['stop', '-t', '60', holder!], 90_000);
    console.log(`image: docker stop with a running task took ${Date.now() - t0} ms`);
    expect((await docker(['inspect', '-f', '{{.State.ExitCode}}', holder!])).trim()).toBe('0');
    const done = await stack.waitDone(id, 30_000);
    expect(done.status).toBe('complete');
    expect(await stack.taskLog(id)).toContain('slow-done');
  }, 120_000);

  it('leaves nothing on the host after docker rm -f mid-task; the task runs again on a restarted runner', async () => {
    const stopped = (await Promise.all(runners.map(async (r) => ((await docker(['inspect', '-f', '{{.State.Running}}', r])).trim() === 'false' ? r : undefined)))).find(Boolean);
    const victim = runners.find((r) => r !== stopped)!;
    const id = await queue(stack.api!.clusterId, 'slow');
    await waitFor('slow task running on the victim', async () => ((await stack.runnersWithJobs([victim])).length === 1 ? true : undefined), { timeoutMs: 30_000, everyMs: 250 });

    const instance = /"instance_id":"([^"]+)"/.exec((await dockerRc(['logs', victim])).stderr)?.[1];
    expect(instance).toBeDefined();
    const volume = (await docker(['inspect', '-f', '{{range .Mounts}}{{if eq .Destination "/var/lib/docker"}}{{.Source}}{{end}}{{end}}', victim])).trim();
    // Only named volumes and binds: nothing anonymous for `docker rm` to leave behind.
    const mounts = JSON.parse(await docker(['inspect', '-f', '{{json .Mounts}}', victim])) as Array<{ Type: string; Name?: string }>;
    for (const m of mounts.filter((x) => x.Type === 'volume')) expect(m.Name, 'an anonymous volume').not.toMatch(/^[0-9a-f]{64}$/);
    const imgIno = statSync(`${volume}/iron-btrfs.img`).ino;
    expect(await loopDevicesFor(imgIno)).toHaveLength(1);

    await docker(['rm', '-f', victim]);
    expect(await loopDevicesFor(imgIno)).toEqual([]);
    const mountinfo = (await run('cat', ['/proc/self/mountinfo'])).stdout;
    expect(mountinfo).not.toContain(volume);
    for (const kind of [
      ['ps', '-aq'],
      ['volume', 'ls', '-q'],
      ['network', 'ls', '-q'],
    ]) {
      const found = await docker([...kind, '--filter', `label=io.iron-runner.instance=${instance!}`]);
      expect(found.trim(), `host ${kind[0]} of the removed runner`).toBe('');
    }
    const mine = await docker(['ps', '-aq', '--filter', `label=iron.test=${stack.id}`, '--filter', `name=${victim}`]);
    expect(mine.trim()).toBe('');
    // The loop file (DISK_PER_JOB's btrfs) lives in the runner's named volume and goes with it.
    const volumeName = volume.split('/').at(-2) ?? '';
    expect(volumeName).toBe(stack.volumeOf(victim.slice(stack.id.length + 1)));
    await docker(['volume', 'rm', volumeName]);
    expect(() => statSync(`${volume}/iron-btrfs.img`)).toThrow();

    // The lease (5 s here) expires, the task is requeued and the stopped runner, started again, runs it.
    await docker(['start', stopped!]);
    const done = await stack.waitDone(id, 90_000);
    expect(done.status).toBe('complete');
    expect(done.attempt).toBeGreaterThanOrEqual(2);
  }, 180_000);

  it('wrote every runner log line of the whole run with unique keys', async () => {
    let n = 0;
    for (const r of [...runners, stack.name('r3')]) {
      const { stderr } = await dockerRc(['logs', r]);
      for (const line of stderr.split('\n').filter((l) => l.startsWith('{'))) {
        expect(() => parseStrictJson(line), line).not.toThrow();
        n++;
      }
    }
    expect(n).toBeGreaterThan(50);
  });
});

async function loopDevicesFor(inode: number): Promise<string[]> {
  const out = JSON.parse((await run('losetup', ['-l', '-J', '-O', 'NAME,BACK-INO'])).stdout || '{"loopdevices":[]}') as {
    loopdevices: Array<{ name: string; 'back-ino': number | string | null }>;
  };
  return out.loopdevices.filter((d) => Number(d['back-ino']) === inode).map((d) => d.name);
}
