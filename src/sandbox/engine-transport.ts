// The HTTP transport under dockerode. docker-modem sends every request through a copy of an old
// follow-redirects (lib/http.js): a 3xx answer from the engine is followed as a *plain TCP request
// from the runner host* to whatever the Location names, past the job egress rules, and that second
// request has no `error` listener, so its failure ends the process (issue 13 item 2). Its own error
// handling also leaves the response stream without a listener until the caller attaches one.
//
// This replaces the modem's request step (buildRequest) with one that never follows a redirect (a 3xx
// is an error carrying its status), listens for errors on the request, the response and a streamed
// request body from the first moment, and treats a response cut before its end as the engine's loss.
// The modem's own URL building, auth headers and status-code handling (dial, buildPayload) stay.
import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import Modem from 'docker-modem';

type Callback = (err: unknown, result: unknown) => void;

interface DialContext {
  isStream?: boolean;
  hijack?: boolean;
  openStdin?: boolean;
  statusCodes: Record<number, unknown>;
}

/** The parts of docker-modem's Modem used here (private in its type definitions). */
interface ModemInternals {
  protocol: string;
  buildRequest(options: RequestOptions, context: DialContext, data: unknown, callback: Callback): void;
  buildPayload(err: unknown, isStream: boolean, statusCodes: Record<number, unknown>, openStdin: boolean, req: unknown, res: unknown, json: unknown, cb: Callback): void;
}

/** The engine hung up before the response was complete. */
function cutShort(): Error {
  return Object.assign(new Error('the engine closed the connection before the response was complete'), { code: 'ECONNRESET' });
}

/** A 3xx is never followed: it becomes an error with the status, as dockerode reports other statuses. */
function redirectError(res: IncomingMessage): Error {
  const status = res.statusCode ?? 0;
  const message = `the engine answered with a redirect (HTTP ${status}); iron-runner never follows engine redirects`;
  return Object.assign(new Error(message), { statusCode: status, json: { message } });
}

function noop(): void {
  // A response handed to a stream consumer keeps this listener so an error that happens before the
  // consumer attaches its own cannot become an uncaught exception; consumers see it through their
  // own listeners or async iterator (both are told by the stream itself).
}

function buildRequest(this: ModemInternals, options: RequestOptions, context: DialContext, data: unknown, callback: Callback): void {
  let settled = false;
  const settle = (err: unknown, result?: unknown): void => {
    if (settled) return;
    settled = true;
    callback(err, result ?? null);
  };
  if (context.hijack === true || context.openStdin === true) {
    settle(new Error('hijacked engine connections are not used by iron-runner'));
    return;
  }
  const lib = this.protocol === 'https' ? https : http;
  let req: ClientRequest;
  try {
    req = lib.request(options);
  } catch (err) {
    settle(err);
    return;
  }
  req.on('error', (err) => settle(err));
  req.on('response', (res) => {
    res.on('error', noop);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400) {
      settle(redirectError(res));
      req.destroy();
      return;
    }
    if (context.isStream === true) {
      if (settled) return;
      settled = true;
      this.buildPayload(null, true, context.statusCodes, false, req, res, null, callback);
      return;
    }
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', (err) => settle(err));
    res.on('close', () => {
      if (!res.complete) settle(cutShort());
    });
    res.on('end', () => {
      if (settled) return;
      settled = true;
      const buffer = Buffer.concat(chunks);
      let json: unknown = buffer;
      try {
        json = JSON.parse(buffer.toString());
      } catch {
        // Not JSON (an empty 204, a plain-text error): dockerode takes the buffer.
      }
      this.buildPayload(null, false, context.statusCodes, false, req, res, json, callback);
    });
  });
  if (typeof data === 'string' || Buffer.isBuffer(data)) {
    req.end(data);
  } else if (data !== undefined && data !== null && typeof (data as Readable).pipe === 'function') {
    const body = data as Readable;
    body.on('error', (err) => req.destroy(err));
    body.pipe(req);
  } else {
    req.end();
  }
}

/** A docker-modem Modem whose requests never follow redirects and never leave an error unheard. */
export function safeModem(opts: Modem.ConstructorOptions): Modem {
  const modem = new Modem(opts);
  (modem as unknown as ModemInternals).buildRequest = buildRequest;
  return modem;
}
