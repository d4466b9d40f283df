// The iron-api of the server tests (test/helpers/api.ts) under the short names these tests use in
// their paths (pid, token, cid, ctoken), and the shared queue and HTTP helpers they import from here.
import type { ServerConfig } from '../../src/config/server.js';
import { startApi, type Api } from '../helpers/api.js';

export { call, type Res } from '../helpers/http.js';
export { appendLog, getTask, queue, registerCode, reserve, runnerPath, type Reserved } from '../helpers/queue.js';

export interface TestServer extends Api {
  dir: string;
  pid: string;
  token: string;
  cid: string;
  ctoken: string;
  close(): Promise<void>;
}

export async function startTestServer(overrides: Partial<ServerConfig> = {}): Promise<TestServer> {
  return asTestServer(await startApi({ overrides }));
}

function asTestServer(api: Api): TestServer {
  return Object.assign(api, {
    dir: api.dataDir,
    pid: api.projectId,
    token: api.projectToken,
    cid: api.clusterId,
    ctoken: api.clusterToken,
    close: () => api.stop(),
  });
}
