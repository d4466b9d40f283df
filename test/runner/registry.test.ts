// Private registries for real: Debian's docker-registry (distribution 2.8) with htpasswd auth and TLS
// on loopback, a real iron-api, a real iron-runner process and the host engine. Images are pushed to
// the registry under new names and their local tags removed, so they exist only in the registry.
// dockerd does not verify TLS for 127.0.0.0/8 (insecure by default), so the last test runs a second
// registry on a test host of its own (a network namespace), where the engine must trust the CA through certs.d.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIronClient, type IronClient } from '../../src/api/index.js';
import { runIron } from '../cli/helpers.js';
import { TEST_IMAGE, testDocker } from '../helpers/docker.js';
import { startRegistry, startSilentRegistry, type TestRegistry } from '../helpers/registry.js';
import { containersOf, removeNetwork, spawnRunner, startApi, taskLog, uniqueNetwork, waitForTask, watchContainerEvents, type Api, type RunnerProc } from './harness.js';

const MiB = 1024 * 1024;
const PULL_TIMEOUT_S = 8;
const BIG = ['a', 'b', 'c'];
const BLOB_MIB = 24;
let reg: TestRegistry;
let api: Api;
let runner: RunnerProc;
const network = uniqueNetwork();
const home = mkdtempSync(path.join(tmpdir(), 'iron-registry-home-'));

const ref = (name: string): string => `${reg.host}/${name}`;
const present = async (image: string): Promise<boolean> => {
  try {
    await testDocker().getImage(image).inspect();
    return true;
  } catch {
    return false;
  }
};

/** An image with a blob of random bytes on top of the test image (distinct ids and real sizes). */
async function buildBig(tag: string): Promise<string> {
  const docker = testDocker();
  const c = await docker.createContainer({
    Image: TEST_IMAGE,
    Cmd: ['sh', '-c', `head -c ${BLOB_MIB * MiB} /dev/urandom > /blob`],
    Labels: { 'io.iron-runner.test': 'registry' },
  });
  try {
    await c.start();
    await c.wait();
    const local = `iron-test/registry-big-${process.pid}:${tag}`;
    await c.commit({ repo: `iron-test/registry-big-${process.pid}`, tag });
    return local;
  } finally {
    await c.remove({ force: true });
  }
}

async function queue(client: IronClient, code: string): Promise<string> {
  const [id] = await client.project.queueTasks([{ code_name: code, payload: '' }], AbortSignal.timeout(5_000));
  return id ?? '';
}

/** Another project of the same iron-api; its tasks are read through its own client (`as`). */
async function otherProject(name: string): Promise<{ client: IronClient; as: Api }> {
  const p = await api.handle.admin.createProject(name);
  const client = createIronClient({ baseUrl: api.url, token: p.token, projectId: p.projectId });
  return { client, as: { ...api, client, projectId: p.projectId } };
}

beforeAll(async () => {
  reg = await startRegistry();
  await reg.push(TEST_IMAGE, 'private/bb:1');
  await reg.push(TEST_IMAGE, 'private/only:1');
  await reg.push(TEST_IMAGE, 'private/warm:1');
  await reg.push(TEST_IMAGE, 'private/busy:1');
  for (const t of BIG) {
    const local = await buildBig(t);
    await reg.push(local, `private/big:${t}`);
    await testDocker().getImage(local).remove();
  }
  api = await startApi();
  runner = spawnRunner(api, { JOB_NETWORK: network, IMAGE_CACHE_SIZE: '64M', PULL_TIMEOUT: `${PULL_TIMEOUT_S}s`, CONCURRENCY: '2' });
  await runner.waitForEvent('api.connected');
}, 180_000);

afterAll(async () => {
  expect(await runner?.stop()).toBe(0);
  const instance = readFileSync(path.join(runner.jobsDir, 'instance-id'), 'utf8').trim();
  expect(await containersOf(instance)).toBe(0);
  await removeNetwork(network);
  await api?.stop();
  // Only tags of this registry: the engine's other images are not ours.
  const docker = testDocker();
  for (const img of await docker.listImages()) {
    for (const tag of img.RepoTags ?? [])
      if (tag.startsWith(`${reg.host}/`))
        await docker
          .getImage(tag)
          .remove({ noprune: true })
          .catch(() => undefined);
  }
  await reg?.stop();
  rmSync(home, { recursive: true, force: true });
}, 120_000);

describe('private registry (docker-registry 2.8, htpasswd + TLS)', () => {
  it('runs a code whose image exists only in the registry after `iron docker login`', async () => {
    expect(await present(ref('private/bb:1'))).toBe(false);
    await api.client.project.registerCode({ name: 'private', image: ref('private/bb:1'), command: "sh -c 'echo from-the-registry'" }, AbortSignal.timeout(5_000));
    // Without credentials the registry refuses the pull.
    const refused = await waitForTask(api, await queue(api.client, 'private'));
    expect(refused.status).toBe('error');
    expect(refused.msg).toMatch(/^image pull failed: /);

    const env = {
      HOME: home,
      IRON_TOKEN: api.handle.bootstrap?.projectToken ?? '',
      IRON_PROJECT_ID: api.projectId,
      IRON_HOST: '127.0.0.1',
      IRON_PORT: String(api.handle.port),
      IRON_SCHEME: 'http',
    };
    const login = await runIron([], { env, cwd: home, shell: `printf '%s\\n' '${reg.user.password}' | "$NODE" "$IRON_BIN" docker login -u ${reg.user.username} --password-stdin --url ${reg.host}` });
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);

    const id = await queue(api.client, 'private');
    const t = await waitForTask(api, id);
    expect(t.status).toBe('complete');
    expect(await taskLog(api, id)).toBe('from-the-registry\n');
    expect(await present(ref('private/bb:1'))).toBe(true);
  }, 120_000);

  it("warms a registered code's image on the cluster's runner before its first task (pre-pull)", async () => {
    const image = ref('private/warm:1');
    expect(await present(image)).toBe(false);
    await api.client.project.registerCode({ name: 'warm', image, command: "sh -c 'echo warm'" }, AbortSignal.timeout(5_000));
    // No task queued: the runner pulls because the reserve answer listed the image.
    await runner.waitForEvent('image.warmed', (l) => l['image'] === image, 30_000);
    expect(await present(image)).toBe(true);
    const id = await queue(api.client, 'warm');
    expect((await waitForTask(api, id)).status).toBe('complete');
    expect(await taskLog(api, id)).toBe('warm\n');
    // One pull in all: the task found the image present (and its project's credentials checked).
    expect(runner.eventLines('image.pulled').filter((l) => l['image'] === image)).toHaveLength(1);
  }, 60_000);

  it('warms through the heartbeat answer while every slot is busy (no reserve calls)', async () => {
    await api.client.project.registerCode({ name: 'sleep', image: TEST_IMAGE, command: "sh -c 'sleep 8'" }, AbortSignal.timeout(5_000));
    const sleepers = [await queue(api.client, 'sleep'), await queue(api.client, 'sleep')];
    await Promise.all(sleepers.map((id) => waitForTask(api, id, new Set(['running']))));
    const image = ref('private/busy:1');
    await api.client.project.registerCode({ name: 'busy', image, command: 'true' }, AbortSignal.timeout(5_000));
    await runner.waitForEvent('image.warmed', (l) => l['image'] === image, 30_000);
    // Both slots were still taken when the image arrived.
    for (const id of sleepers) expect((await api.client.project.getTask(id, AbortSignal.timeout(5_000))).status).toBe('running');
    expect(await present(image)).toBe(true);
    for (const id of sleepers) expect((await waitForTask(api, id)).status).toBe('complete');
  }, 60_000);

  it("ends the task `error` with the registry's reason on wrong credentials", async () => {
    const { client: c, as } = await otherProject('wrong password');
    await c.project.dockerLogin({ username: reg.user.username, password: 'not-the-password', serveraddress: reg.host }, AbortSignal.timeout(5_000));
    await c.project.registerCode({ name: 'only', image: ref('private/only:1') }, AbortSignal.timeout(5_000));
    const t = await waitForTask(as, await queue(c, 'only'));
    expect(t.status).toBe('error');
    expect(t.msg).toMatch(/^image pull failed: .*unauthorized: authentication required/);
    expect(t.msg).not.toContain('not-the-password');
    expect(await present(ref('private/only:1'))).toBe(false);
    await c.close();
  }, 60_000);

  it('ends the task `error` "not found" for a missing tag', async () => {
    await api.client.project.registerCode({ name: 'missing', image: ref('private/bb:no-such-tag') }, AbortSignal.timeout(5_000));
    const t = await waitForTask(api, await queue(api.client, 'missing'));
    expect(t.status).toBe('error');
    expect(t.msg).toMatch(/^image pull failed: .*not found/);
  }, 60_000);

  it('never runs a private image cached for project A for project B without credentials (issue 13 item 11)', async () => {
    // Project A pulled private/bb:1 in the first test; the image is on the engine now.
    expect(await present(ref('private/bb:1'))).toBe(true);
    const { client: b, as } = await otherProject('no credentials');
    await b.project.registerCode({ name: 'borrow', image: ref('private/bb:1'), command: "sh -c 'echo borrowed'" }, AbortSignal.timeout(5_000));
    // The same image by its id must not get past the check either.
    const imageId = (await testDocker().getImage(ref('private/bb:1')).inspect()).Id;
    await b.project.registerCode({ name: 'borrow-by-id', image: imageId.slice('sha256:'.length, 'sha256:'.length + 12), command: "sh -c 'echo borrowed'" }, AbortSignal.timeout(5_000));
    const events = await watchContainerEvents();
    const ids = [await queue(b, 'borrow'), await queue(b, 'borrow-by-id')];
    const tasks = await Promise.all(ids.map((id) => waitForTask(as, id)));
    const seen = await events.stop();
    for (const [i, t] of tasks.entries()) {
      expect(t.status).toBe('error');
      expect(t.msg).toMatch(/came from a private registry and this project's credentials could not pull it/);
      expect(seen.get(ids[i] ?? '')).toBeUndefined();
      expect(await taskLog(as, ids[i] ?? '')).toBe('');
    }
    // With its own valid credentials, B may use it (the check is per project, not a blanket refusal).
    await b.project.dockerLogin({ username: reg.user.username, password: reg.user.password, serveraddress: reg.host }, AbortSignal.timeout(5_000));
    const ok = await queue(b, 'borrow');
    expect((await waitForTask(as, ok)).status).toBe('complete');
    expect(await taskLog(as, ok)).toBe('borrowed\n');
    // Project A still runs it (its own pull verified it).
    expect((await waitForTask(api, await queue(api.client, 'private'))).status).toBe('complete');
    await b.close();
  }, 120_000);

  it(`ends the task \`error\` with a timeout reason when the registry never answers (PULL_TIMEOUT ${PULL_TIMEOUT_S}s)`, async () => {
    const silent = await startSilentRegistry();
    try {
      await api.client.project.registerCode({ name: 'silent', image: `${silent.host}/stuck/image:1` }, AbortSignal.timeout(5_000));
      const t0 = Date.now();
      const id = await queue(api.client, 'silent');
      const t = await waitForTask(api, id, undefined, 60_000);
      const elapsed = Date.now() - t0;
      expect(t.status).toBe('error');
      expect(t.msg).toBe(`image pull failed: timed out after ${PULL_TIMEOUT_S} s`);
      expect(silent.connections()).toBeGreaterThan(0);
      expect(elapsed).toBeGreaterThanOrEqual(PULL_TIMEOUT_S * 1000 - 500);
      // Generous: the timeout plus pickup and reporting on a loaded 2-core machine.
      expect(elapsed).toBeLessThan(PULL_TIMEOUT_S * 1000 + 15_000);
    } finally {
      await silent.stop();
    }
  }, 90_000);

  it('evicts least-recently-used images by size (IMAGE_CACHE_SIZE 64M, three ~26 MB images)', async () => {
    const sizes: Record<string, number> = {};
    for (const t of BIG) {
      const name = `big-${t}`;
      await api.client.project.registerCode({ name, image: ref(`private/big:${t}`), command: 'sh -c "wc -c < /blob"' }, AbortSignal.timeout(5_000));
      const id = await queue(api.client, name);
      expect((await waitForTask(api, id)).status).toBe('complete');
      expect((await taskLog(api, id)).trim()).toBe(String(BLOB_MIB * MiB));
      if (await present(ref(`private/big:${t}`)))
        sizes[t] = (
          await testDocker()
            .getImage(ref(`private/big:${t}`))
            .inspect()
        ).Size;
    }
    // The third pull pushed the total over 64 MiB: the oldest images go, until it fits.
    const evicted = await runner.waitForEvent('image.evicted', undefined, 30_000);
    const removed = evicted['removed'] as string[];
    expect(removed).toContain(ref('private/big:a'));
    expect(removed).not.toContain(ref('private/big:b'));
    expect(removed).not.toContain(ref('private/big:c'));
    expect(await present(ref('private/big:a'))).toBe(false);
    expect(await present(ref('private/big:b'))).toBe(true);
    expect(await present(ref('private/big:c'))).toBe(true);
    // The local test image (used by the `sleep` tasks above) was on the engine before: never a candidate.
    expect(removed).not.toContain(TEST_IMAGE);
    expect(await present(TEST_IMAGE)).toBe(true);
    console.log(`image LRU: sizes ${JSON.stringify(sizes)} bytes; evicted ${JSON.stringify(removed)}; remaining ${String(evicted['remaining'])} of ${String(evicted['limit'])}`);
  }, 180_000);

  it('still refuses a cached private image to another project after a runner restart (the record is on disk)', async () => {
    const image = ref('private/big:c');
    expect(await present(image)).toBe(true);
    expect(await runner.stop()).toBe(0);
    runner = spawnRunner(api, { JOB_NETWORK: network, IMAGE_CACHE_SIZE: '64M', PULL_TIMEOUT: `${PULL_TIMEOUT_S}s`, CONCURRENCY: '2' }, runner.jobsDir);
    await runner.waitForEvent('api.connected');
    const { client: d, as } = await otherProject('after restart');
    await d.project.registerCode({ name: 'borrow-c', image, command: 'true' }, AbortSignal.timeout(5_000));
    const t = await waitForTask(as, await queue(d, 'borrow-c'));
    expect(t.status).toBe('error');
    expect(t.msg).toMatch(/came from a private registry and this project's credentials could not pull it/);
    await d.close();
  }, 90_000);

  it("verifies the registry's certificate through /etc/docker/certs.d (registry on a test host of its own, outside dockerd's insecure 127.0.0.0/8)", async () => {
    const tls = await startRegistry({ ownHost: true });
    const image = `${tls.host}/tls/bb:1`;
    try {
      await tls.push(TEST_IMAGE, 'tls/bb:1');
      await api.client.project.dockerLogin({ ...tls.auth }, AbortSignal.timeout(5_000));
      await api.client.project.registerCode({ name: 'tls', image, command: "sh -c 'echo verified'" }, AbortSignal.timeout(5_000));
      const ok = await queue(api.client, 'tls');
      expect((await waitForTask(api, ok)).status).toBe('complete');
      expect(await taskLog(api, ok)).toBe('verified\n');
      // Without the CA in certs.d the engine refuses the registry's certificate.
      await testDocker().getImage(image).remove({ noprune: true });
      rmSync(tls.caFile);
      const refused = await waitForTask(api, await queue(api.client, 'tls'));
      expect(refused.status).toBe('error');
      expect(refused.msg).toMatch(/^image pull failed: .*x509: certificate signed by unknown authority/);
    } finally {
      await testDocker()
        .getImage(image)
        .remove({ noprune: true })
        .catch(() => undefined);
      await tls.stop();
    }
  }, 90_000);
});
