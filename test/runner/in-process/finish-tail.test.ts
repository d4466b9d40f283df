// The last output of a task rides on its finish (finish-with-log, offered by the reserve answer): a
// task that prints little makes no log request at all, a chatty one ships all but its last partial
// chunk by log appends, and a tail the API does not take (it lost bytes it had acknowledged, or the
// replica predates finish-with-log) is shipped by appends from where the API is before the plain
// finish goes. The real iron-api and engine; the client stand-in only loses an acknowledged append on
// demand (in-process.ts), and a forwarding proxy answers finish-with-log as an older replica does.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerImage, removeNetwork, startApi, taskLog, uniqueNetwork, waitForTask, type Api } from '../harness.js';
import { startInProcessRunner, type InProcessRunner } from './in-process.js';

const network = uniqueNetwork();
let api: Api;
let r: InProcessRunner;
let proxy: Server;
/** While set, the proxy answers finish-with-log as a replica from before it: 404 Invalid endpoint. */
let oldReplica = false;

/** Forwards every request to the API, except finish-with-log while oldReplica is set. */
function startProxy(target: URL): Promise<Server> {
  const server = createServer((req, res) => {
    if (oldReplica && req.url?.endsWith('/finish-with-log') === true) {
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"msg":"Invalid endpoint"}');
      return;
    }
    const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  api = await startApi();
  await registerImage(api, 'quiet', "sh -c 'echo hello; echo world'");
  await registerImage(api, 'chatty', 'sh -c \'head -c 200000 /dev/zero | tr "\\\\0" a; echo\'');
  // More than a 1 MiB chunk: the first chunk goes by append at once, the rest is left for the finish.
  await registerImage(api, 'long', 'sh -c \'head -c 1100000 /dev/zero | tr "\\\\0" a; echo; echo last\'');
  // A flush interval no engine is that slow past: what a job printed is still unshipped when it ends.
  proxy = await startProxy(new URL(api.url));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  r = await startInProcessRunner({ apiUrl: proxyUrl, clusterId: api.clusterId, clusterToken: api.clusterToken, engineSocket: '/var/run/docker.sock', network, env: { LOG_FLUSH_INTERVAL: '20s' } });
}, 90_000);

afterAll(async () => {
  await r?.stop();
  proxy?.closeAllConnections();
  await new Promise((resolve) => proxy?.close(resolve));
  await removeNetwork(network);
  await api?.stop();
});

async function run(code: string): Promise<string> {
  const [id = ''] = await api.client.project.queueTasks([{ code_name: code, payload: '', cluster: api.clusterId }], AbortSignal.timeout(5_000));
  await r.events.wait('task.finished', (e) => e.taskId === id, { timeoutMs: 60_000 });
  expect((await waitForTask(api, id)).status).toBe('complete');
  return id;
}

describe('the finish carries the last output', () => {
  it('a task that prints little makes no log request', async () => {
    const before = r.appends();
    const id = await run('quiet');
    expect(r.appends()).toBe(before);
    expect(r.finishTails.filter((f) => f.taskId === id).map((f) => f.bytes)).toEqual([12]);
    expect(await taskLog(api, id)).toBe('hello\nworld\n');
  }, 90_000);

  it('a chatty task ships by appends and its stored log is exactly its output', async () => {
    const before = r.appends();
    const id = await run('chatty');
    expect(r.appends()).toBeGreaterThan(before);
    const log = await taskLog(api, id);
    expect(log.length).toBe(200_001);
    expect(log).toBe(`${'a'.repeat(200_000)}\n`);
  }, 90_000);

  it('a tail the API cannot take (it lost an acknowledged append) goes by appends, then the finish alone', async () => {
    r.loseAppends(1);
    const id = await run('long');
    const finishes = r.finishTails.filter((f) => f.taskId === id);
    // The first finish carried the last 51,430 bytes at offset 1 MiB and was refused (409, size 0);
    // the second carried none.
    expect(finishes.map((f) => f.bytes)).toEqual([1_100_006 - 1024 * 1024, 0]);
    expect(await taskLog(api, id)).toBe(`${'a'.repeat(1_100_000)}\nlast\n`);
    expect(r.listenerErrors).toEqual([]);
  }, 90_000);

  it('a replica from before finish-with-log finishes nothing: the tail goes by append, then the plain finish', async () => {
    oldReplica = true;
    try {
      const before = r.appends();
      const id = await run('quiet');
      expect(r.finishTails.filter((f) => f.taskId === id).map((f) => f.bytes)).toEqual([12, 0]);
      expect(r.appends()).toBe(before + 1);
      expect(await taskLog(api, id)).toBe('hello\nworld\n');
    } finally {
      oldReplica = false;
    }
  }, 90_000);
});
