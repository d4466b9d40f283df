// iron-api as a library: start a real server (tests of the CLI and the runner start one in-process
// on port 0 with a temp data dir) and stop it gracefully.
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServerConfig } from '../config/server.js';
import { IronError } from '../errors.js';
import type { Logger } from '../log.js';
import { Admin, writeIronJson, type Bootstrap } from './admin.js';
import { createApp } from './app.js';
import { answerClientError } from './http/client-error.js';
import { capConnections } from './http/connections.js';
import type { Deps } from './context.js';
import { tightenDataDir } from './data-dir.js';
import { createServices, type Services } from './services/services.js';
import { openSqliteStore } from './store/sqlite/index.js';
import { LogFiles } from './store/logs.js';

const HEADERS_TIMEOUT_MS = 10_000;

export { Admin, type Bootstrap } from './admin.js';
export type { Store } from './store/ports.js';

export interface ServerHandle {
  url: string;
  port: number;
  close(): Promise<void>;
  /** Credentials created on a fresh data dir (null when the data dir already had a project). */
  bootstrap: Bootstrap | null;
  /** Create further projects, tokens and clusters (tests, operators). */
  admin: Admin;
}

export async function startServer(opts: { config: ServerConfig; log: Logger; signal?: AbortSignal }): Promise<ServerHandle> {
  const { config } = opts;
  const log = opts.log.child({ component: 'iron-api' });
  const store = openSqliteStore(config.dataDir);
  const logs = new LogFiles(config.dataDir, config.maxLogBytes);
  const closingCtl = new AbortController();
  const services = createServices({ config, store, logs, log });
  let server: Server | TlsServer | undefined;
  try {
    await logs.init();
    const tightened = await tightenDataDir(config.dataDir);
    if (tightened > 0) log.warn({ entries: tightened }, 'data dir entries were readable by others; set to 0700/0600');
    const admin = new Admin(store, config);
    const bootstrap = await admin.bootstrapIfEmpty();
    const deps: Deps = { config, services, metrics: services.metrics, log, closing: closingCtl.signal };
    // Headers must come at once (Iron clients send them in one write); a whole request (an upload
    // included) within REQUEST_TIMEOUT. Both bound only the receiving: a parked reserve has been
    // received, so it is never cut. Keep-alive idles 65 s, past the 60 s of common load balancers.
    const httpOpts = {
      keepAliveTimeout: 65_000, headersTimeout: Math.min(HEADERS_TIMEOUT_MS, config.requestTimeoutMs),
      requestTimeout: config.requestTimeoutMs, connectionsCheckingInterval: 1000,
    };
    // With a certificate the API speaks https only: no plain listener a token could leak over.
    server = config.tls === undefined
      ? createServer(httpOpts, createApp(deps))
      : createTlsServer({ ...httpOpts, cert: config.tls.cert, key: config.tls.key }, createApp(deps));
    server.on('clientError', answerClientError);
    capConnections(server, config.maxConnections);
    await listen(server, config.host, config.port);
    const port = (server.address() as AddressInfo).port;
    const urlHost = config.host.includes(':') ? `[${config.host}]` : config.host;
    const scheme = config.tls === undefined ? 'http' : 'https';
    const url = `${scheme}://${urlHost}:${port}`;
    if (bootstrap !== null) {
      const path = await writeIronJson(config.dataDir, bootstrap, config.publicHost, port, scheme);
      log.info({ path, project_id: bootstrap.projectId, cluster_id: bootstrap.clusterId }, 'fresh data dir: bootstrapped, wrote iron.json');
    }
    services.start();
    log.info({ event: 'server.listening', url, data_dir: config.dataDir }, 'iron-api listening');
    const srv = server;
    let closed: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closed ??= shutdown(srv, config.shutdownGraceMs, closingCtl, services, log);
      return closed;
    };
    opts.signal?.addEventListener('abort', () => void close(), { once: true });
    return { url, port, close, bootstrap, admin };
  } catch (err) {
    server?.close();
    await services.close();
    throw err;
  }
}

function listen(server: Server | TlsServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(new IronError('ERR_CONFIG_INVALID', `cannot listen on ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Stop accepting, release parked long-polls, let in-flight requests finish (bounded), close the DB. */
async function shutdown(server: Server | TlsServer, graceMs: number, closing: AbortController, services: Services, log: Logger): Promise<void> {
  log.info('iron-api shutting down');
  const done = new Promise<void>((resolve) => server.close(() => resolve()));
  closing.abort(new IronError('ERR_SERVER_CLOSING', 'server is shutting down'));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await done;
  clearTimeout(timer);
  await services.close();
  log.info('iron-api stopped');
}
