// The one HTTP transport to the API: a keep-alive undici dispatcher per client, JSON in and out,
// every answer's body consumed, retries per call, failures as IronErrors with stable codes. A client
// may know several API replicas (API_URL=a,b,c): it sticks to the one that works and fails over to the
// next on a connection failure or a 503 (src/api/replicas.ts). The token is only ever put in the
// Authorization header; nothing here logs headers.
import { getCACertificates } from 'node:tls';
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { isNeverSentErrno } from '../errno.js';
import { abortError, IronError, isIronError } from '../errors.js';
import type { Logger } from '../log.js';
import { CLI_RETRY, withRetry, type RetryPolicy } from './retry.js';
import { parseBaseUrls, Replicas, type FailoverEvent, type Target } from './replicas.js';
import { networkError, responseError } from './status.js';

export type { FailoverEvent } from './replicas.js';

export interface ProxySettings {
  readonly httpProxy?: string | undefined;
  readonly httpsProxy?: string | undefined;
  readonly noProxy?: string | undefined;
}

export interface HttpClientOptions {
  /**
   * `scheme://host:port`; a path prefix is kept (an API behind a reverse proxy under /iron). Several
   * replicas of one API (same database) may be given: calls go to one and fail over to the next.
   */
  readonly baseUrl: string | URL | ReadonlyArray<string | URL>;
  readonly token: string;
  readonly userAgent?: string;
  /** Extra trusted CAs (PEM text), added to Node's bundled roots and the system store. */
  readonly extraCa?: string | undefined;
  /** Read by src/config from HTTPS_PROXY / HTTP_PROXY / NO_PROXY; absent = direct connections. */
  readonly proxy?: ProxySettings | undefined;
  /** Must exceed the longest long-poll wait (reserve waits up to 30 s). */
  readonly headersTimeoutMs?: number;
  readonly bodyTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Default policy for calls that do not pass their own. */
  readonly retry?: RetryPolicy;
  readonly log?: Logger;
  /** For tests: use this dispatcher instead of building one (it is not closed by close()). */
  readonly dispatcher?: Dispatcher;
  /** Called when calls move from one replica to the next (observability only). */
  readonly onFailover?: (e: FailoverEvent) => void;
}

export interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the base URL, starting with `/2/`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly json?: unknown;
  readonly body?: Buffer | string;
  readonly contentType?: string;
  readonly retry?: RetryPolicy;
  /**
   * Whether repeating the call is harmless. Non-idempotent calls (queue a task) are only retried
   * when the server cannot have acted on them: connection refused, 503, 408.
   */
  readonly idempotent?: boolean;
  /** Time to wait for the answer's headers on this call (a long-poll waits longer than other calls). */
  readonly headersTimeoutMs?: number;
}

export interface ApiResponse {
  readonly status: number;
  readonly body: Buffer;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Trusted roots for https: Node's bundled ones plus the system store (Node alone ignores it) plus the
 * operator's extra bundle. undefined keeps Node's defaults (plain http needs none).
 */
function buildCa(https: boolean, extra: string | undefined): string[] | undefined {
  if (!https) return undefined;
  let system: string[] = [];
  try {
    system = getCACertificates('system');
  } catch {
    // Platforms without a readable system store still get the bundled roots.
  }
  return [...getCACertificates('default'), ...system, ...(extra === undefined ? [] : [extra])];
}

function safeToRepeat(err: unknown): boolean {
  if (!isIronError(err)) return false;
  if (err.code === 'ERR_API_NETWORK') return isNeverSentErrno(err.details.reason);
  return err.details.status === 503 || err.details.status === 408;
}

export class HttpClient {
  private readonly replicas: Replicas;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: HttpClientOptions) {
    const targets = parseBaseUrls(opts.baseUrl);
    this.replicas = new Replicas(targets, (e) => {
      opts.log?.debug({ from: e.from, to: e.to, reason: e.reason }, 'API replica failed; later calls go to the next one');
      opts.onFailover?.(e);
    });
    // One agent serves every replica (undici pools per origin); the CA list matters only for https ones.
    const ca = buildCa(
      targets.some((t) => t.origin.startsWith('https:')),
      opts.extraCa,
    );
    const agentOpts: Agent.Options = {
      connect: { timeout: opts.connectTimeoutMs ?? 10_000, ...(ca === undefined ? {} : { ca }) },
      headersTimeout: opts.headersTimeoutMs ?? DEFAULT_TIMEOUT_MS,
      bodyTimeout: opts.bodyTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    };
    this.ownsDispatcher = opts.dispatcher === undefined;
    const p = opts.proxy;
    const proxied = p !== undefined && (p.httpProxy !== undefined || p.httpsProxy !== undefined);
    this.dispatcher =
      opts.dispatcher ??
      (proxied
        ? // Empty strings stop undici from reading proxy variables itself: src/config already decided.
          new EnvHttpProxyAgent({ ...agentOpts, httpProxy: p.httpProxy ?? '', httpsProxy: p.httpsProxy ?? '', noProxy: p.noProxy ?? '' })
        : new Agent(agentOpts));
  }

  /** The replica calls go to now (the first one until a call fails over). */
  get origin(): string {
    return this.replicas.current.origin;
  }

  /** Every replica this client knows, in the order given. */
  get origins(): readonly string[] {
    return this.replicas.origins;
  }

  /**
   * Sends a request, retrying per policy; resolves only on 200..299. One attempt tries each replica
   * at most once (failing over at once, without waiting); the policy's backoff runs between attempts,
   * i.e. only when every replica failed.
   */
  async send(req: ApiRequest, signal: AbortSignal): Promise<ApiResponse> {
    const policy = req.retry ?? this.opts.retry ?? CLI_RETRY;
    const idempotent = req.idempotent ?? (req.method === 'GET' || req.method === 'PUT' || req.method === 'DELETE');
    const repeatable = (err: unknown): boolean => idempotent || safeToRepeat(err);
    return withRetry(
      () =>
        this.replicas.call(
          (t) => this.once(t, req, signal),
          (err) => !signal.aborted && repeatable(err),
        ),
      policy,
      signal,
      {
        shouldRetry: (err) => isIronError(err) && err.retryable && repeatable(err),
        minWaitMs: (err) => (isIronError(err) && typeof err.details.retry_after_ms === 'number' ? err.details.retry_after_ms : undefined),
        onRetry: (err, attempt, waitMs) => {
          this.opts.log?.debug({ method: req.method, path: req.path, attempt, wait_ms: waitMs, code: isIronError(err) ? err.code : undefined }, 'API call failed, retrying');
        },
      },
    );
  }

  async json<T>(req: ApiRequest, signal: AbortSignal): Promise<T> {
    const res = await this.send(req, signal);
    const text = res.body.toString('utf8');
    try {
      return (text.trim() === '' ? {} : JSON.parse(text)) as T;
    } catch (cause) {
      throw new IronError('ERR_API_RESPONSE', `${req.method} ${req.path}: the API answered with invalid JSON`, {
        cause,
        details: { status: res.status, method: req.method, path: req.path },
      });
    }
  }

  /**
   * Like send, but a 2xx body is handed to `sink` as it arrives instead of being buffered (code
   * packages: up to MAX_CODE_SIZE). The whole exchange is retried per policy; the sink must start
   * over on every call (write to a fresh temp file).
   */
  async download(req: ApiRequest, sink: (body: AsyncIterable<Uint8Array>) => Promise<void>, signal: AbortSignal): Promise<void> {
    const policy = req.retry ?? this.opts.retry ?? CLI_RETRY;
    await withRetry(
      async () => {
        await this.replicas.call(
          (t) => this.once(t, req, signal, sink),
          () => !signal.aborted,
        );
      },
      policy,
      signal,
      { shouldRetry: (err) => isIronError(err) && err.retryable },
    );
  }

  private async once(target: Target, req: ApiRequest, signal: AbortSignal, sink?: (body: AsyncIterable<Uint8Array>) => Promise<void>): Promise<ApiResponse> {
    if (signal.aborted) throw abortError(signal);
    if (this.closing !== undefined) throw new IronError('ERR_ABORTED', 'API client is closed');
    const headers: Record<string, string> = {
      authorization: `OAuth ${this.opts.token}`,
      accept: 'application/json',
      'user-agent': this.opts.userAgent ?? 'iron-runner',
    };
    let body: Buffer | string | undefined = req.body;
    if (req.json !== undefined) body = JSON.stringify(req.json);
    if (body !== undefined) headers['content-type'] = req.contentType ?? 'application/json';
    const started = Date.now();
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatcher.request({
        origin: target.origin,
        path: target.prefix + req.path + queryString(req.query),
        method: req.method,
        headers,
        body: body ?? null,
        signal,
        ...(req.headersTimeoutMs === undefined ? {} : { headersTimeout: req.headersTimeoutMs }),
      });
    } catch (err) {
      if (signal.aborted) throw abortError(signal);
      throw networkError(req.method, target.origin, req.path, err);
    }
    let data: Buffer;
    try {
      if (sink !== undefined && res.statusCode >= 200 && res.statusCode < 300) {
        await sink(res.body);
        return { status: res.statusCode, body: Buffer.alloc(0) };
      }
      data = Buffer.from(await res.body.arrayBuffer());
    } catch (err) {
      if (signal.aborted) throw abortError(signal);
      // The sink's own verdicts (a checksum mismatch) are not network failures.
      if (isIronError(err)) throw err;
      throw networkError(req.method, target.origin, req.path, err);
    }
    this.opts.log?.debug({ method: req.method, path: req.path, status: res.statusCode, ms: Date.now() - started }, 'API call');
    if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, body: data };
    const retryAfter = res.headers['retry-after'];
    throw responseError({
      method: req.method,
      path: req.path,
      status: res.statusCode,
      body: data.subarray(0, 4096).toString('utf8'),
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
    });
  }

  /** Closes keep-alive connections; idempotent. In-flight calls are ended by their own signals. */
  close(): Promise<void> {
    this.closing ??= this.ownsDispatcher ? this.dispatcher.close().catch(() => undefined) : Promise.resolve();
    return this.closing;
  }
}

function queryString(query: ApiRequest['query']): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.append(k, String(v));
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}
