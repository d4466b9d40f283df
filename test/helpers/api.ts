// The one in-process iron-api of the tests: a real server on 127.0.0.1 port 0 with a temp SQLite
// data dir (or the caller's), the credentials of its bootstrap and a project client. restart() closes
// and reopens it on the same port and data dir (for tests that change the dir while it is down);
// stop() closes everything and removes the data dir when it was made here.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createIronClient, type IronClient } from '../../src/api/index.js';
import { serverConfig, type ServerConfig } from '../../src/config/server.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { startServer, type ServerHandle } from '../../src/server/start.js';
import { testDatabase } from './test-store.js';

export interface Credentials {
  projectId: string;
  projectToken: string;
  clusterId: string;
  clusterToken: string;
}

export interface Api extends Credentials {
  /** The running server (a new one after restart()). */
  handle: ServerHandle;
  /** The config it runs with (its store: SQLite in the data dir, or the test file's PostgreSQL database). */
  config: ServerConfig;
  url: string;
  dataDir: string;
  client: IronClient;
  /** Closes the server, runs `whileDown` (after `downMs`), and starts it again on the same port and dir. */
  restart(opts?: { downMs?: number; whileDown?: () => Promise<void> | void }): Promise<void>;
  stop(): Promise<void>;
}

export interface StartApiOptions {
  /** Config fields over the defaults (port 0, the data dir). */
  overrides?: Partial<ServerConfig>;
  /** Or the whole config for the data dir (e.g. from flags, with TLS). */
  config?: (dataDir: string) => ServerConfig;
  /** Logger for the server (default silent); tests that inspect the API's own log pass one. */
  log?: Logger;
  /** CA the client trusts (an iron-api with a private CA). */
  extraCa?: string;
  /** Serve this data dir (kept by stop()); default a fresh temp dir. */
  dataDir?: string;
  /** The credentials of a data dir that was served before (it does not bootstrap again). */
  credentials?: Credentials;
}

export async function startApi(opts: StartApiOptions = {}): Promise<Api> {
  const ours = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'iron-api-test-')));
  const base = opts.config?.(dataDir) ?? serverConfig({ port: 0, ...opts.overrides, dataDir });
  // A test file that runs on PostgreSQL (test-store.ts) gets a fresh database per iron-api.
  const database = base.database ?? (await testDatabase());
  const config: ServerConfig = database === undefined ? base : { ...base, database };
  const log = opts.log ?? silentLogger();
  let handle: ServerHandle;
  try {
    handle = await startServer({ config, log });
  } catch (err) {
    if (ours) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const creds = handle.bootstrap ?? opts.credentials;
  if (creds === undefined) {
    await handle.close();
    throw new Error(`${dataDir} was served before (no bootstrap): pass its credentials`);
  }
  const { projectId, projectToken, clusterId, clusterToken } = creds;
  const client = createIronClient({
    baseUrl: handle.url,
    token: projectToken,
    projectId,
    ...(opts.extraCa === undefined ? {} : { extraCa: opts.extraCa }),
  });
  let stopped: Promise<void> | undefined;
  const api: Api = {
    handle,
    config,
    url: handle.url,
    dataDir,
    client,
    projectId,
    projectToken,
    clusterId,
    clusterToken,
    async restart(r = {}) {
      const port = api.handle.port;
      await api.handle.close();
      if (r.downMs !== undefined) await sleep(r.downMs);
      await r.whileDown?.();
      api.handle = await startServer({ config: { ...config, port }, log });
    },
    stop() {
      stopped ??= (async () => {
        await client.close();
        await api.handle.close();
        if (ours) await rm(dataDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
  return api;
}
