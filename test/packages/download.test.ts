// The runner's code download call: a reserved task carries only a package reference; its bytes
// are served to the cluster that holds the task, for its current reservation only.
import { createHash } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverConfig } from '../../src/config/server.js';
import { silentLogger } from '../../src/log.js';
import { startServer } from '../../src/server/start.js';
import { craftZip, multipartUpload } from '../helpers/zip-craft.js';
import { call, queue, registerCode, reserve, runnerPath, startTestServer, type TestServer } from '../server/helpers.js';

let s: TestServer;
const zip = craftZip([{ name: 'run.sh', data: 'echo from the package\n' }]);
const sha256 = createHash('sha256').update(zip).digest('hex');

beforeAll(async () => {
  s = await startTestServer();
  const m = multipartUpload({ name: 'pkg', image: 'iron-test/busybox:1', command: 'sh run.sh' }, zip);
  const r = await call(s.url, 'POST', `/2/projects/${s.pid}/codes`, { token: s.token, body: m.body, type: m.type });
  expect(r.status).toBe(200);
  await registerCode(s, 'image-only');
});
afterAll(async () => s.close());

async function download(taskId: string, reservationId: string, token = s.ctoken, cid = s.cid): Promise<{ status: number; bytes: Buffer; code: unknown }> {
  const res = await fetch(`${s.url}/2/clusters/${cid}/runner/tasks/${taskId}/code?reservation_id=${reservationId}`, { headers: { authorization: `OAuth ${token}` } });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, bytes, code: res.headers.get('content-type') };
}

describe('code package reference and download', () => {
  it('reserves a reference (rev, size, sha256), never the bytes, and serves the bytes to the holder', async () => {
    const [id] = await queue(s, [{ code_name: 'pkg' }]);
    const [t] = await reserve(s);
    expect(t?.id).toBe(id);
    expect(t?.['code_package']).toEqual({ rev: '1', size: zip.length, sha256 });
    expect(JSON.stringify(t)).not.toContain('from the package');
    const dl = await download(t?.id ?? '', t?.reservation_id ?? '');
    expect(dl.status).toBe(200);
    expect(dl.code).toBe('application/zip');
    expect(createHash('sha256').update(dl.bytes).digest('hex')).toBe(sha256);

    // Not for another reservation id, nor once the task is finished.
    expect((await download(t?.id ?? '', 'f'.repeat(24))).status).toBe(403);
    expect((await download(t?.id ?? '', '')).status).toBe(403);
    const fin = await call(s.url, 'POST', runnerPath(s, t?.id ?? '', 'finish'), { token: s.ctoken, json: { reservation_id: t?.reservation_id, status: 'complete' } });
    expect(fin.status).toBe(200);
    expect((await download(t?.id ?? '', t?.reservation_id ?? '')).status).toBe(403);
  });

  it('refuses other clusters, project tokens and unknown tasks', async () => {
    await queue(s, [{ code_name: 'pkg' }]);
    const [t] = await reserve(s);
    const other = await s.handle.admin.createCluster(s.pid, 'other');
    expect((await download(t?.id ?? '', t?.reservation_id ?? '', other.token, other.clusterId)).status).toBe(404);
    expect((await download(t?.id ?? '', t?.reservation_id ?? '', other.token)).status).toBe(403);
    expect((await download(t?.id ?? '', t?.reservation_id ?? '', s.token)).status).toBe(403);
    expect((await download('0'.repeat(24), t?.reservation_id ?? '')).status).toBe(404);
  });

  it('sends no package reference for image-only codes', async () => {
    await queue(s, [{ code_name: 'image-only' }]);
    const got = await reserve(s, 5);
    const img = got.find((x) => x['code_name'] === 'image-only');
    expect(img).toBeDefined();
    expect(img?.['code_package']).toBeUndefined();
    expect((await download(img?.id ?? '', img?.reservation_id ?? '')).status).toBe(404);
  });
});

describe('zips stored before iron-api recorded sha256s', () => {
  it('adds the column to an older database and computes a missing sha256 once, at reserve', async () => {
    const old = await startTestServer();
    try {
      const m = multipartUpload({ name: 'legacy', image: 'iron-test/busybox:1' }, zip);
      expect((await call(old.url, 'POST', `/2/projects/${old.pid}/codes`, { token: old.token, body: m.body, type: m.type })).status).toBe(200);
      await old.handle.close();
      // What an iron-api from before this column left: the same table without sha256.
      const db = new DatabaseSync(`${old.dir}/iron.db`);
      db.exec('ALTER TABLE code_revisions DROP COLUMN sha256');
      db.close();
      const handle = await startServer({ config: serverConfig({ port: 0, dataDir: old.dir }), log: silentLogger() });
      try {
        const again = { ...old, handle, url: handle.url };
        await queue(again, [{ code_name: 'legacy' }]);
        const [t] = await reserve(again);
        expect(t?.['code_package']).toEqual({ rev: '1', size: zip.length, sha256 });
        const check = new DatabaseSync(`${old.dir}/iron.db`);
        expect(check.prepare('SELECT sha256 FROM code_revisions').all()).toEqual([{ sha256 }]);
        check.close();
      } finally {
        await handle.close();
      }
    } finally {
      await old.close().catch(() => undefined);
    }
  });
});
