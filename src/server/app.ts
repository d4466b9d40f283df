// iron-api's HTTP layer: fastify with the route table mounted into it. fastify routes (404 for an
// unknown path; 405, which it does not do itself, from routes of our own), validates with the
// routes' schemas, applies the server timeouts, and calls the hooks that count and log requests.
// What stays ours: bodies are read lazily by the handler (after its auth check, with its own limit:
// a 256 MiB code upload streams, a 401 never reads a body), the `{"msg"}` error bodies, handlers
// that write their own answer (streams), and never compressing (the Go clients would break).
import { METHODS } from 'node:http';
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifySchema } from 'fastify';
import { IronError } from '../errors.js';
import { Ctx, HANDLED, type Deps, type Handler } from './context.js';
import { answerClientError } from './http/client-error.js';
import { logFailure, replyError } from './http/error-reply.js';
import { invalidEndpoint } from './http/framework-errors.js';
import { defaultHudDir, registerHud } from './http/hud-static.js';
import { RequestAborts } from './http/request-aborts.js';
import { RequestMeter } from './http/request-meter.js';
import { methodsNotAllowed, Router, type Params, type Route, type RouteSchema } from './http/router.js';
import { AJV_OPTIONS, bodyValidator, schemaError } from './http/validation.js';
import { registerClusterRoutes } from './routes/clusters.js';
import { registerCodeRoutes } from './routes/codes.js';
import { registerHudRoutes } from './routes/hud.js';
import { registerOpsRoutes } from './routes/ops.js';
import { registerProjectRoutes } from './routes/projects.js';
import { registerRunnerRoutes } from './routes/runner.js';
import { registerRunnerCodeRoutes } from './routes/runner-code.js';
import { registerScheduleRoutes } from './routes/schedules.js';
import { registerTaskRoutes } from './routes/tasks.js';

/** Headers must come at once: Iron clients send them in one write. */
const HEADERS_TIMEOUT_MS = 10_000;
/** Keep-alive idles past the 60 s of common load balancers. */
const KEEP_ALIVE_MS = 65_000;
/** Longer than any URL node accepts (its header limit): a long segment is a 404 of the route, not a 414. */
const MAX_PARAM_LENGTH = 65_536;
/** Every method node's parser accepts (CONNECT never reaches a request listener). */
const ROUTED_METHODS = METHODS.filter((m) => m !== 'CONNECT');

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
  registerHudRoutes(r);
  return r;
}

/** The fastify instance serving `routes`; not listening yet (start.ts listens, tests may inject()). */
export function createApp(deps: Deps, routes: Router<Handler> = buildRouter()): FastifyInstance {
  const { config, log } = deps;
  const meter = new RequestMeter(deps.metrics, log);
  // Both bound only the receiving: a parked reserve has been received, so it is never cut.
  const node = { headersTimeout: Math.min(HEADERS_TIMEOUT_MS, config.requestTimeoutMs), connectionsCheckingInterval: 1000 };
  const options = {
    loggerInstance: log as FastifyBaseLogger,
    // fastify's own per-request lines are info; ours is one debug line (RequestMeter). No child
    // logger per request either: nothing logs through request.log.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger: FastifyBaseLogger) => logger,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_MS,
    // An idle-socket timeout would cut a parked long-poll reserve; silent bodies are cut by the
    // body reader (bodyIdleMs), whole requests by requestTimeout.
    connectionTimeout: 0,
    maxRequestsPerSocket: 0,
    // No bodyLimit: fastify parses no body here; the handlers read theirs with their own limits.
    // In-flight keep-alive requests are served during the shutdown grace (as before), not refused.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: MAX_PARAM_LENGTH },
    ajv: { customOptions: AJV_OPTIONS },
    schemaErrorFormatter: schemaError,
    clientErrorHandler: answerClientError,
    // A malformed URL: fastify answers before any route or hook runs.
    frameworkErrors: (err: Error, request: FastifyRequest, reply: FastifyReply) => {
      meter.start(request, reply.raw);
      reply.raw.once('close', () => meter.end(request));
      replyError(err, request, reply, log);
    },
  };
  // With a certificate the API speaks https only: no plain listener a token could leak over. (Typed
  // as the http instance: requests and replies are node's IncomingMessage and ServerResponse either way.)
  const server = config.tls === undefined ? { http: node } : { https: { ...node, cert: config.tls.cert, key: config.tls.key } };
  const app: FastifyInstance = fastify({ ...options, ...server });

  // Bodies stay unread streams for the handlers (ctx.body(max), ctx.json(), the multipart reader):
  // every method is declared bodyless, so fastify runs no content-type parser. A catch-all parser
  // that hands the stream on was tried and dropped: fastify 5 refuses a malformed Content-Type with
  // 415 before any handler (the webhook took any body, JSON routes answered 401, then 406), and it
  // parses the header uncached and makes an AsyncResource on every request (measured: about 5%
  // more CPU per runner call). Unknown methods are added so that they get a 405, as before.
  for (const m of ROUTED_METHODS) app.addHttpMethod(m, { hasBody: false, overrideExisting: true });

  app.addHook('onRequest', (request, reply, done) => {
    meter.start(request, reply.raw);
    done();
  });
  app.addHook('onResponse', (request, _reply, done) => {
    meter.end(request);
    done();
  });
  // A client that hangs up before its answer (a runner dropping a parked reserve) is counted too.
  app.addHook('onRequestAbort', (request, done) => {
    meter.end(request);
    done();
  });
  app.setErrorHandler((err, request, reply) => replyError(err, request, reply, log));
  app.setNotFoundHandler(() => {
    throw invalidEndpoint();
  });

  const aborts = new RequestAborts(deps.closing);
  for (const route of routes.routes) {
    app.route({
      method: route.method,
      url: route.name,
      config: { name: route.name },
      ...schemaOf(route.options.schema),
      handler: serve(deps, route, aborts),
    });
  }
  // The HUD's files: a plugin of fastify's own (ETags, ranges, content types), outside the route table.
  if (!registerHud(app, deps.hudDir ?? defaultHudDir())) log.debug('no built HUD (npm run build): /hud/ is not served');
  for (const { pattern, methods } of methodsNotAllowed(routes.routes, ROUTED_METHODS)) {
    app.route({
      method: methods,
      url: pattern,
      exposeHeadRoute: false,
      handler: (request) => {
        throw new IronError('ERR_SERVER_METHOD', `method ${request.method} is not allowed here`);
      },
    });
  }
  return app;
}

/** The parts fastify checks itself; the body schema waits for ctx.json() (see validation.ts). */
function schemaOf(schema: RouteSchema | undefined): { schema?: FastifySchema } {
  if (schema === undefined) return {};
  const out: FastifySchema = {
    ...(schema.querystring === undefined ? {} : { querystring: schema.querystring }),
    ...(schema.response === undefined ? {} : { response: schema.response }),
  };
  return { schema: out };
}

/** Runs a route's handler: its value becomes a JSON 200, HANDLED means it wrote the answer itself. */
function serve(deps: Deps, route: Route<Handler>, aborts: RequestAborts): (request: FastifyRequest, reply: FastifyReply) => Promise<unknown> {
  const bodySchema = route.options.schema?.body;
  return async (request, reply) => {
    const res = reply.raw;
    // Aborted when the client goes away before its answer is written, or the server shuts down
    // (until the response closes: a stream the handler started may outlive the handler).
    const { controller: abort, done } = aborts.start();
    const onClose = (): void => {
      if (!res.writableFinished) abort.abort();
    };
    res.on('close', onClose);
    res.once('close', done);
    try {
      const signal = abort.signal;
      const check = bodySchema === undefined ? undefined : bodyValidator(request, bodySchema);
      const ctx = new Ctx(request.raw, res, request.url, request.params as Params, deps, signal, deps.log, check);
      const out = await route.handler(ctx);
      if (out === HANDLED) {
        reply.hijack();
        return undefined;
      }
      reply.header('cache-control', 'no-store');
      const value = out ?? {};
      if (typeof value === 'object') return value;
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(value));
    } catch (err) {
      // A handler that had started its own answer (a stream) cannot get an error body now: cut it.
      if (!res.headersSent) throw err;
      logFailure(err, request, deps.log);
      reply.hijack();
      res.destroy();
      return undefined;
    } finally {
      res.off('close', onClose);
    }
  };
}
