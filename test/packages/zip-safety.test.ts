// Unsafe code packages are refused at upload with a 400 whose `code` names the rule, nothing of
// them is stored, and safe packages (in-tree symlinks, executables, nested dirs) are accepted.
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { craftZip, multipartUpload, type CraftEntry } from '../helpers/zip-craft.js';
import { call, startTestServer, type TestServer } from '../server/helpers.js';

let s: TestServer;
const MiB = 1024 * 1024;

beforeAll(async () => {
  s = await startTestServer({ zipLimits: { maxEntries: 20, maxUnpackedBytes: 8 * MiB, maxRatio: 200 } });
});
afterAll(async () => s.close());

async function upload(name: string, zip: Buffer): Promise<{ status: number; body: Record<string, unknown> }> {
  const m = multipartUpload({ name, image: 'iron-test/busybox:1', command: 'sh run.sh' }, zip);
  const r = await call(s.url, 'POST', `/2/projects/${s.pid}/codes`, { token: s.token, body: m.body, type: m.type });
  return { status: r.status, body: r.body };
}

const file = (name: string, data = 'echo hi\n'): CraftEntry => ({ name, data });
const link = (name: string, target: string): CraftEntry => ({ name, data: target, mode: 0o120777 });

const UNSAFE: ReadonlyArray<[string, () => Buffer, string]> = [
  ['a ".." path', () => craftZip([file('run.sh'), file('../evil.sh')]), 'ERR_ZIP_PATH'],
  ['a ".." in the middle', () => craftZip([file('a/../../evil.sh')]), 'ERR_ZIP_PATH'],
  ['a backslash ".." (Windows zips)', () => craftZip([file('..\\evil.sh')]), 'ERR_ZIP_PATH'],
  ['an absolute path', () => craftZip([file('/etc/cron.d/evil')]), 'ERR_ZIP_PATH'],
  ['a drive letter path', () => craftZip([file('C:/evil')]), 'ERR_ZIP_PATH'],
  ['a control character in a name', () => craftZip([file('a\u0001b')]), 'ERR_ZIP_PATH'],
  ['an absolute symlink', () => craftZip([link('passwd', '/etc/passwd')]), 'ERR_ZIP_SYMLINK'],
  ['a symlink climbing out', () => craftZip([file('sub/x'), link('sub/up', '../../etc')]), 'ERR_ZIP_SYMLINK'],
  ['a symlink through another symlink', () => craftZip([file('sub/x'), link('sub/d', '..'), link('esc', 'sub/d/../y')]), 'ERR_ZIP_SYMLINK'],
  ['a file below a symlink', () => craftZip([file('real/x'), link('l', 'real'), file('l/y')]), 'ERR_ZIP_SYMLINK'],
  ['a duplicate name', () => craftZip([file('run.sh'), file('run.sh', 'echo other\n')]), 'ERR_ZIP_DUPLICATE'],
  ['a duplicate after normalising', () => craftZip([file('a/b'), file('a/./b')]), 'ERR_ZIP_DUPLICATE'],
  ['a name that is a file and a directory', () => craftZip([file('a'), file('a/b')]), 'ERR_ZIP_DUPLICATE'],
  ['too many entries', () => craftZip(Array.from({ length: 21 }, (_, i) => file(`f${i}`))), 'ERR_ZIP_TOO_MANY_ENTRIES'],
  ['too much unpacked', () => craftZip([0, 1, 2].map((i) => ({ name: `big${i}`, data: randomBytes(3 * MiB) }))), 'ERR_ZIP_TOO_LARGE'],
  ['a compression ratio bomb', () => craftZip([{ name: 'zeros', data: Buffer.alloc(6 * MiB), deflate: true }]), 'ERR_ZIP_BOMB'],
  ['a header that lies about the size', () => craftZip([{ name: 'zeros', data: Buffer.alloc(6 * MiB), deflate: true, declaredSize: 4096 }]), 'ERR_ZIP_BOMB'],
  ['the reserved name "input"', () => craftZip([file('input/payload')]), 'ERR_ZIP_RESERVED'],
  ['bytes that are no zip', () => Buffer.from('PK\u0003\u0004 not really a zip'), 'ERR_ZIP_INVALID'],
  [
    'a corrupt entry (CRC mismatch)',
    () => {
      const z = craftZip([file('run.sh', 'echo exactly this\n')]);
      const at = 30 + 'run.sh'.length + 2;
      z.writeUInt8(z.readUInt8(at) ^ 0xff, at);
      return z;
    },
    'ERR_ZIP_INVALID',
  ],
];

describe('unsafe code packages are refused at upload', () => {
  it.each(UNSAFE)('refuses %s with 400 and a stable code', async (_what, make, code) => {
    const name = `unsafe-${randomBytes(4).toString('hex')}`;
    const r = await upload(name, make());
    expect(r.status).toBe(400);
    expect(r.body['code']).toBe(code);
    expect(typeof r.body['msg']).toBe('string');
    const codes = await call<{ codes: Array<{ name: string }> }>(s.url, 'GET', `/2/projects/${s.pid}/codes?per_page=100`, { token: s.token });
    expect(codes.body.codes.map((c) => c.name)).not.toContain(name);
  });

  it('keeps nothing of refused uploads in the data dir', async () => {
    const names = await readdir(path.join(s.dir, 'code'));
    expect(names.filter((n) => n.startsWith('upload-'))).toEqual([]);
  });
});

describe('safe code packages are accepted', () => {
  it('accepts nested dirs, executables and symlinks that stay inside', async () => {
    const zip = craftZip([
      { name: 'bin/', mode: 0o040755 },
      { name: 'bin/tool', data: '#!/bin/sh\necho tool\n', mode: 0o100755 },
      file('scripts/run.sh'),
      link('run.sh', 'scripts/run.sh'),
      link('scripts/tool', '../bin/tool'),
      { name: 'data.txt', data: 'x'.repeat(100_000), deflate: true },
    ]);
    const r = await upload('safe', zip);
    expect(r.status).toBe(200);
    expect(r.body['rev']).toBe(1);
    const dl = await fetch(`${s.url}/2/projects/${s.pid}/codes/${String(r.body['id'])}/download`, { headers: { authorization: `OAuth ${s.token}` } });
    expect(Buffer.from(await dl.arrayBuffer()).equals(zip)).toBe(true);
  });
});
