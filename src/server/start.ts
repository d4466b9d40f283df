// iron-api's composition root: opens the store, builds the server's parts and its HTTP app, listens,
// and stops it all gracefully. Tests of the CLI and the runner start one in-process on port 0 with a
// temp data dir.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { ServerConfig } from '../config/server.js';
import { IronError } from '../errors.js';
import type { Logger } from '../log.js';
import { Admin, writeIronJson, type Bootstrap } from './admin.js';
import { createApp } from './app.js';
import { capConnections } from './http/connections.js';
import type { Deps } from './context.js';
import { tightenDataDir } from './data-dir.js';
import { createServices, type Services } from './services/services.js';
import { openStorage, storeKind } from './store/open.js';

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
  /** A request straight into the HTTP app, without a socket (tests). */
  inject(opts: InjectOptions | string): Promise<LightMyRequestResponse>;
}

export async function startServer(opts: { config: ServerConfig; log: Logger; signal?: AbortSignal; hudDir?: string }): Promise<ServerHandle> {
  const { config } = opts;
  const log = opts.log.child({ component: 'iron-api' });
  const { store, logs, packages } = await openStorage(config, opts.signal ?? new AbortController().signal, log);
  const closingCtl = new AbortController();
  const services = createServices({ config, store, logs, packages, log });
  let app: FastifyInstance | undefined;
  try {
    await logs.init();
    const tightened = await tightenDataDir(config.dataDir);
    if (tightened > 0) log.warn({ entries: tightened }, 'data dir entries were readable by others; set to 0700/0600');
    const admin = new Admin(store, config);
    const bootstrap = await admin.bootstrapIfEmpty();
    const deps: Deps = { config, services, metrics: services.metrics, log, closing: closingCtl.signal, ...(opts.hudDir === undefined ? {} : { hudDir: opts.hudDir }) };
    app = createApp(deps);
    await app.ready();
    // fastify has no connection cap (node's maxConnections refuses the newest, see connections.ts).
    capConnections(app.server, config.maxConnections);
    // Listened to here, not by app.listen(): that binds every address of "localhost" and logs a
    // line of its own; this keeps the bind and the error of a port in use as they were.
    await listen(app.server, config.host, config.port);
    const port = (app.server.address() as AddressInfo).port;
    const urlHost = config.host.includes(':') ? `[${config.host}]` : config.host;
    const scheme = config.tls === undefined ? 'http' : 'https';
    const url = `${scheme}://${urlHost}:${port}`;
    if (bootstrap !== null) {
      const path = await writeIronJson(config.dataDir, bootstrap, config.publicHost, port, scheme);
      log.info({ path, project_id: bootstrap.projectId, cluster_id: bootstrap.clusterId }, 'fresh data dir: bootstrapped, wrote iron.json');
    }
    services.start();
    // `event` is the stable field harnesses wait on; the text is for people.
    log.info({ event: 'server.listening', url, port, data_dir: config.dataDir, store: storeKind(config) }, 'iron-api listening');
    const started = app;
    let closed: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closed ??= shutdown(started, config.shutdownGraceMs, closingCtl, services, log);
      return closed;
    };
    opts.signal?.addEventListener('abort', () => void close(), { once: true });
    return { url, port, close, bootstrap, admin, inject: (o) => started.inject(o) };
  } catch (err) {
    await app?.close();
    await services.close();
    throw err;
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
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
async function shutdown(app: FastifyInstance, graceMs: number, closing: AbortController, services: Services, log: Logger): Promise<void> {
  log.info('iron-api shutting down');
  const done = new Promise<void>((resolve) => app.server.close(() => resolve()));
  closing.abort(new IronError('ERR_SERVER_CLOSING', 'server is shutting down'));
  app.server.closeIdleConnections();
  const timer = setTimeout(() => app.server.closeAllConnections(), graceMs);
  await done;
  clearTimeout(timer);
  // The server is closed already; this ends fastify's own life cycle (its onClose hooks).
  await app.close();
  await services.close();
  log.info('iron-api stopped');
}
