// How a failed request is answered: Iron's `{"msg"}` body with the status of its error code, no
// internals in a 5xx, Retry-After on a busy 503, and a body still arriving is not read on (a 401 for
// a slow upload must not keep draining it): the answer goes out with Connection: close and the
// socket is destroyed once it is flushed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isIronError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { bodyOf, statusOf } from './errors.js';
import { fromFramework } from './framework-errors.js';
import { routeName } from './request-meter.js';

/** Logs what became a 500 (with the error, which the client never sees); returns the status. */
export function logFailure(err: unknown, request: FastifyRequest, log: Logger): number {
  const status = statusOf(fromFramework(err));
  if (status >= 500 && status !== 503) log.error({ err, method: request.method, route: routeName(request) }, 'request failed');
  return status;
}

export function replyError(err: unknown, request: FastifyRequest, reply: FastifyReply, log: Logger): void {
  const status = logFailure(err, request, log);
  if (reply.raw.headersSent) {
    reply.raw.destroy();
    return;
  }
  const unread = request.raw.complete === false;
  if (unread) reply.header('connection', 'close');
  const e = fromFramework(err);
  if (isIronError(e, 'ERR_SERVER_BUSY')) reply.header('retry-after', '1');
  reply.header('cache-control', 'no-store');
  reply.code(status).send(bodyOf(e, status));
  if (unread) dropAfterAnswer(request.raw, reply.raw);
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
