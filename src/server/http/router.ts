// The route table the route files fill (`r.add(method, pattern, handler)`) and app.ts mounts into
// fastify, whose router matches them (literal segments and `:name` parameters, exact method).
// Kept as a table of our own so that route files do not depend on fastify and a test can list
// every route the server serves.

export type Params = Readonly<Record<string, string>>;

/**
 * JSON Schemas of a route (src/protocol's wire types). fastify validates the query string before
 * the handler and serializes a 200 answer with `response`; `body` is checked when the handler reads
 * it (`ctx.json()`), after its auth check, because bodies are read lazily (see app.ts).
 */
export interface RouteSchema {
  readonly body?: object;
  readonly querystring?: object;
  readonly response?: Readonly<Record<string, object>>;
}

export interface RouteOptions {
  readonly schema?: RouteSchema;
}

export interface Route<H> {
  readonly method: string;
  /** The route pattern, a bounded label for metrics. */
  readonly name: string;
  readonly handler: H;
  readonly options: RouteOptions;
}

export class Router<H> {
  readonly routes: Route<H>[] = [];

  add(method: string, pattern: string, handler: H, options: RouteOptions = {}): this {
    this.routes.push({ method, name: pattern, handler, options });
    return this;
  }
}

/**
 * Where a 405 is due: for each pattern, the methods it does not serve. A method is left out where
 * another route serving it covers the pattern (a `:param` where the pattern has a literal): GET
 * `/tasks/webhook` is GET `/tasks/:id`, as before. HEAD counts as GET (fastify serves HEAD by the
 * GET handler).
 */
export function methodsNotAllowed<H>(routes: readonly Route<H>[], methods: readonly string[]): Array<{ pattern: string; methods: string[] }> {
  const served = (method: string): Route<H>[] => routes.filter((r) => r.method === (method === 'HEAD' ? 'GET' : method));
  const out: Array<{ pattern: string; methods: string[] }> = [];
  for (const pattern of new Set(routes.map((r) => r.name))) {
    const missing = methods.filter((m) => !served(m).some((r) => covers(r.name, pattern)));
    if (missing.length > 0) out.push({ pattern, methods: missing });
  }
  return out;
}

/** Every path `inner` matches, `outer` matches too. */
function covers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const i = inner.split('/');
  return o.length === i.length && o.every((seg, k) => seg.startsWith(':') || seg === i[k]);
}
