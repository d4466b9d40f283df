// What every route handler gets: the parsed request, lazy auth, bounded body readers, and the
// server's dependencies. Scope checks live here so each route states its scope in one call.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerConfig } from '../config/server.js';
import { IronError } from '../errors.js';
import type { Logger } from '../log.js';
import { tokenFrom } from './auth.js';
import { parseJsonObject, readBody, readBodyParts } from './http/body.js';
import { forbidden, notFound } from './http/errors.js';
import type { Params } from './http/router.js';
import { isId } from './ids.js';
import type { ServerMetrics } from './metrics.js';
import type { Services } from './services/services.js';
import type { TokenScope } from './store/records.js';

export interface Deps {
  readonly config: ServerConfig;
  /** The service layer: the only way routes reach the store, the wake-ups and the scheduler. */
  readonly services: Services;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
  /** Aborted when the server shuts down: parked long-polls return at once. */
  readonly closing: AbortSignal;
  /** The built HUD to serve under /hud/ (default: the package's dist/hud; tests pass their own). */
  readonly hudDir?: string;
}

export class Ctx {
  private scope: Promise<TokenScope> | undefined;
  private parsedQuery: URLSearchParams | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    /** The request target as received (path and query). */
    private readonly target: string,
    readonly params: Params,
    readonly deps: Deps,
    /** Aborted when the client goes away or the server shuts down. */
    readonly signal: AbortSignal,
    readonly log: Logger,
    /** The route's body schema check (see http/validation.ts), run by json(). */
    private readonly checkBody?: (body: Record<string, unknown>) => void,
  ) {}

  /** Parsed on first use, from the query alone: a whole URL parse per request cost 4x as much. */
  get query(): URLSearchParams {
    if (this.parsedQuery === undefined) {
      const q = this.target.indexOf('?');
      const end = this.target.indexOf('#', q);
      this.parsedQuery = new URLSearchParams(q < 0 ? '' : this.target.slice(q + 1, end < 0 ? undefined : end));
    }
    return this.parsedQuery;
  }

  param(name: string): string {
    return this.params[name] ?? '';
  }

  /**
   * A path id. Ids are 24 hex chars; anything else names nothing that exists, so it is a 404 like an
   * unknown id (Iron documents 404 for "the resource ... doesn't exist"; ironcli and the Ruby client
   * treat 404 as "no such task"). Callers authenticate first: an anonymous caller gets 401, not 404.
   */
  id(name: string, what: string): string {
    const v = this.param(name);
    if (!isId(v)) throw notFound(`${what} not found: ${JSON.stringify(v.slice(0, 64))} is not a ${what} id`);
    return v;
  }

  auth(): Promise<TokenScope> {
    this.scope ??= this.deps.services.accounts.authenticate(tokenFrom(this.req, this.query), this.signal);
    return this.scope;
  }

  /** The project in the path, which the caller's project token must belong to. */
  async project(): Promise<string> {
    const own = await this.projectToken();
    const pid = this.id('pid', 'project');
    if (own !== pid) throw forbidden('this token does not belong to this project');
    return pid;
  }

  /** A project token, for the root-scoped cluster API. */
  async projectToken(): Promise<string> {
    const scope = await this.auth();
    if (scope.kind !== 'project') throw forbidden('a cluster token can only use the runner protocol of its cluster');
    return scope.projectId;
  }

  /** The cluster in the path, whose own cluster token the caller must hold (runner protocol). */
  async runner(): Promise<string> {
    const scope = await this.auth();
    if (scope.kind !== 'cluster') throw forbidden('the runner protocol needs a cluster token');
    const cid = this.id('cid', 'cluster');
    if (scope.clusterId !== cid) throw forbidden('this token belongs to another cluster');
    return cid;
  }

  async body(limit = this.deps.config.maxBodyBytes): Promise<Buffer> {
    return readBody(this.req, limit, this.deps.config.bodyIdleMs);
  }

  /** The body unjoined (see readBodyParts). */
  async bodyParts(limit = this.deps.config.maxBodyBytes): Promise<Buffer[]> {
    return readBodyParts(this.req, limit, this.deps.config.bodyIdleMs);
  }

  async json(): Promise<Record<string, unknown>> {
    const body = parseJsonObject(await this.body(), this.req.headers['content-type']);
    this.checkBody?.(body);
    return body;
  }
}

export type Handler = (ctx: Ctx) => Promise<unknown>;

/** Marks a response the handler wrote itself (streams, text). */
export const HANDLED = Symbol('handled');

export function closing(): IronError {
  return new IronError('ERR_SERVER_CLOSING', 'server is shutting down');
}
