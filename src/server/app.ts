// The request listener: route, run the handler, turn its value into a JSON 200 and errors into
// Iron's `{"msg"}` bodies, count and log every request. Never compresses (the Go clients would break).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIronError } from '../errors.js';
import { sendJson } from './http/json.js';
import { Ctx, HANDLED, type Deps, type Handler } from './context.js';
import { bodyOf, statusOf } from './http/errors.js';
import { Router } from './http/router.js';
import { registerClusterRoutes } from './routes/clusters.js';
import { registerCodeRoutes } from './routes/codes.js';
import { registerOpsRoutes } from './routes/ops.js';
import { registerProjectRoutes } from './routes/projects.js';
import { registerRunnerRoutes } from './routes/runner.js';
import { registerRunnerCodeRoutes } from './routes/runner-code.js';
import { registerScheduleRoutes } from './routes/schedules.js';
import { registerTaskRoutes } from './routes/tasks.js';

export function buildRouter(): Router<Handler> {
  const r = new Router<Handler>();
  registerOpsRoutes(r);
  registerProjectRoutes(r);
  registerCodeRoutes(r);
  registerTaskRoutes(r);
  registerScheduleRoutes(r);
  registerClusterRoutes(r);
  registerRunnerRoutes(r);
  registerRunnerCodeRoutes(r);
  return r;
}

export function createApp(deps: Deps): (req: IncomingMessage, res: ServerResponse) => void {
  const router = buildRouter();
  return (req, res) => {
    void handle(router, deps, req, res);
  };
}

/** Closes the connection once the answer is written (at most 2 s later: a peer may not read it). */
function dropAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  const sock = req.socket;
  const kill = (): void => {
    clearTimeout(timer);
    sock.destroy();
  };
  const timer = setTimeout(kill, 2000);
  timer.unref();
  if (res.writableFinished) setImmediate(kill);
  else res.once('finish', () => setImmediate(kill));
  res.once('close', kill);
}

async function handle(router: Router<Handler>, deps: Deps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  const method = req.method ?? 'GET';
  let route = 'unmatched';
  const abort = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) abort.abort();
  };
  res.on('close', onClose);
  const signal = AbortSignal.any([abort.signal, deps.closing]);
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = router.match(method, url.pathname);
    route = match.name;
    const ctx = new Ctx(req, res, url, match.params, deps, signal, deps.log);
    const out = await match.handler(ctx);
    if (out !== HANDLED) sendJson(res, 200, out ?? {});
  } catch (err) {
    const status = statusOf(err);
    if (status >= 500 && status !== 503) deps.log.error({ err, method, route }, 'request failed');
    // A body still arriving is not read on (a 401 for a slow upload must not keep draining it): the
    // answer goes out with Connection: close and the socket is destroyed once it is flushed.
    const unread = !req.complete;
    if (unread && !res.headersSent) res.setHeader('connection', 'close');
    if (isIronError(err, 'ERR_SERVER_BUSY') && !res.headersSent) res.setHeader('retry-after', '1');
    if (!res.headersSent) sendJson(res, status, bodyOf(err, status));
    else res.destroy();
    if (unread) dropAfterAnswer(req, res);
  } finally {
    res.off('close', onClose);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    deps.metrics.requests.inc({ method, route, status: String(res.statusCode) });
    deps.metrics.requestSeconds.observe({ route }, seconds);
    deps.log.debug({ method, route, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'request');
  }
}

