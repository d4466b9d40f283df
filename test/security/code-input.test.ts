// iron-api refuses code registrations (and updates: a new revision) whose image the runner could not
// use safely (issue 13 item 2) or whose env_vars are oversized (item 5), with a 400 saying why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type Res, type TestServer } from '../server/helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => s.close());

const register = (json: Record<string, unknown>): Promise<Res> => call(s.url, 'POST', `/2/projects/${s.pid}/codes`, { token: s.token, json: { name: 'c', image: 'iron-test/busybox:1', ...json } });

describe('code registration input', () => {
  it.each(['a/../../127.0.0.1:9', 'Up/../x', 'img?x=1', 'a b', 'upper/CASE'])('refuses image %j with 400', async (image) => {
    const r = await register({ image });
    expect(r.status).toBe(400);
    expect(String(r.body['msg'])).toMatch(/^image: /);
  });

  it('refuses the same bad image on an update of an existing code', async () => {
    expect((await register({ name: 'upd' })).status).toBe(200);
    const r = await register({ name: 'upd', image: 'a/../../127.0.0.1:9' });
    expect(r.status).toBe(400);
    const codes = await call<{ codes: Array<{ name: string; image: string; rev: number }> }>(s.url, 'GET', `/2/projects/${s.pid}/codes`, { token: s.token });
    expect(codes.body.codes.find((c) => c.name === 'upd')).toMatchObject({ image: 'iron-test/busybox:1', rev: 1 });
  });

  it('accepts registry hosts, ports, tags and digests', async () => {
    for (const image of ['localhost:5000/team/app:v1', `registry.example.com/a@sha256:${'e'.repeat(64)}`]) {
      expect((await register({ name: `ok-${image.length}`, image })).status).toBe(200);
    }
  });

  it('refuses an env_vars value over 64 KiB, a total over 256 KiB and bad names', async () => {
    const big = await register({ env_vars: { API_TOKEN: 'x'.repeat(64 * 1024 + 1) } });
    expect(big.status).toBe(400);
    expect(String(big.body['msg'])).toMatch(/env_vars\.API_TOKEN is larger than 65536 bytes/);
    const vars = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`SECRET_${i}`, 's'.repeat(50 * 1024)]));
    const total = await register({ env_vars: vars });
    expect(total.status).toBe(400);
    expect(String(total.body['msg'])).toMatch(/in total/);
    expect((await register({ env_vars: { 'A=B': 'x' } })).status).toBe(400);
    expect((await register({ env_vars: { A: 'x\u0000y' } })).status).toBe(400);
    expect((await register({ name: 'env-ok', env_vars: { A: 'x'.repeat(64 * 1024) } })).status).toBe(200);
  });
});
