// A tiny fetch-based caller for tests that check the wire itself (status codes, raw bodies, headers)
// rather than going through src/api's clients.
export interface Res<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
  type: string;
}

export async function call<T = Record<string, unknown>>(
  url: string,
  method: string,
  path: string,
  opts: { token?: string; json?: unknown; body?: string | Buffer; type?: string } = {},
): Promise<Res<T>> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers['authorization'] = `OAuth ${opts.token}`;
  let body: string | Buffer | undefined = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] = 'application/json';
  }
  if (opts.type !== undefined) headers['content-type'] = opts.type;
  const res = await fetch(url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed as T, text, type: res.headers.get('content-type') ?? '' };
}
