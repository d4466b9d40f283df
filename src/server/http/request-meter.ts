// Counts and logs every request once (fastify's onResponse and onRequestAbort hooks call `end`):
// the Prometheus counter and duration histogram by route pattern, and a debug line per request.
import type { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { Logger } from '../../log.js';
import type { ServerMetrics } from '../metrics.js';

/** The route pattern a request matched (a bounded metrics label); 'unmatched' for 404, 405 and bad URLs. */
export function routeName(request: FastifyRequest): string {
  const name = (request.routeOptions.config as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : 'unmatched';
}

export class RequestMeter {
  private readonly open = new WeakMap<FastifyRequest, { started: bigint; res: ServerResponse }>();

  constructor(
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
  ) {}

  start(request: FastifyRequest, res: ServerResponse): void {
    this.open.set(request, { started: process.hrtime.bigint(), res });
  }

  /** Idempotent: a request that finished and then lost its socket is counted once. */
  end(request: FastifyRequest): void {
    const o = this.open.get(request);
    if (o === undefined) return;
    this.open.delete(request);
    const seconds = Number(process.hrtime.bigint() - o.started) / 1e9;
    const method = request.method;
    const route = routeName(request);
    const status = o.res.statusCode;
    this.metrics.requests.inc({ method, route, status: String(status) });
    this.metrics.requestSeconds.observe({ route }, seconds);
    this.log.debug({ method, route, status, ms: Math.round(seconds * 1000) }, 'request');
  }
}
