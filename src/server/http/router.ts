// A small path router: literal segments and `:name` parameters, exact method match. 404 for an
// unknown path, 405 when the path exists with another method (Iron's documented statuses).
import { IronError } from '../../errors.js';

export type Params = Readonly<Record<string, string>>;

interface Route<H> {
  readonly method: string;
  readonly segments: readonly string[];
  readonly name: string;
  readonly handler: H;
}

export interface Match<H> {
  readonly handler: H;
  readonly params: Params;
  /** The route pattern, a bounded label for metrics. */
  readonly name: string;
}

export class Router<H> {
  private readonly routes: Route<H>[] = [];

  add(method: string, pattern: string, handler: H): this {
    this.routes.push({ method, segments: split(pattern), name: pattern, handler });
    return this;
  }

  match(method: string, path: string): Match<H> {
    const parts = split(path);
    let pathMatched = false;
    for (const r of this.routes) {
      const params = matchSegments(r.segments, parts);
      if (params === undefined) continue;
      // HEAD is served by GET handlers (node drops the body).
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) {
        return { handler: r.handler, params, name: r.name };
      }
      pathMatched = true;
    }
    if (pathMatched) throw new IronError('ERR_SERVER_METHOD', `method ${method} is not allowed here`);
    throw new IronError('ERR_SERVER_NOT_FOUND', 'Invalid endpoint');
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function matchSegments(pattern: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] ?? '';
    const v = parts[i] ?? '';
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(v);
      } catch {
        return undefined;
      }
    } else if (p !== v) return undefined;
  }
  return params;
}
