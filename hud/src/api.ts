// The HUD's only door to iron-api: same-origin fetches of the v2 API with the token in the
// Authorization header. Errors carry the API's own `msg` (shown escaped, as text).
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type Json = Record<string, unknown>;

export class Api {
  constructor(
    private readonly token: string,
    readonly projectId: string,
  ) {}

  /** A project-scoped path: `/2/projects/<id>` + `path`. */
  project(path: string): string {
    return `/2/projects/${encodeURIComponent(this.projectId)}${path}`;
  }

  async get<T = Json>(path: string, signal?: AbortSignal): Promise<T> {
    return (await this.send('GET', path, undefined, signal).then((r) => r.json())) as T;
  }

  async post<T = Json>(path: string, body: Json = {}, signal?: AbortSignal): Promise<T> {
    return (await this.send('POST', path, body, signal).then((r) => r.json())) as T;
  }

  async text(path: string, signal?: AbortSignal): Promise<string> {
    return this.send('GET', path, undefined, signal).then((r) => r.text());
  }

  private async send(method: string, path: string, body: Json | undefined, signal: AbortSignal | undefined): Promise<Response> {
    const headers: Record<string, string> = { authorization: `OAuth ${this.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, {
      method,
      headers,
      cache: 'no-store',
      credentials: 'omit',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(signal === undefined ? {} : { signal }),
    });
    if (!res.ok) throw new ApiError(res.status, await errorMessage(res));
    return res;
  }
}

async function errorMessage(res: Response): Promise<string> {
  try {
    const j = (await res.json()) as { msg?: unknown };
    if (typeof j.msg === 'string') return j.msg;
  } catch {
    // Not JSON: the status line says enough.
  }
  return `HTTP ${res.status}`;
}

/** Who a token belongs to (GET /2/whoami), the sign-in check. */
export async function whoami(token: string, signal?: AbortSignal): Promise<{ projectId: string; projectName: string }> {
  const j = await new Api(token, '').get<{ project_id: string; project_name: string }>('/2/whoami', signal);
  return { projectId: j.project_id, projectName: j.project_name };
}
