// A raw HTTP/1.1 client over a TCP socket: sends exactly the bytes given (bad paths, invalid UTF-8,
// oversized headers, hand-made chunking, trickled writes) and parses the one response it gets.
import { connect } from 'node:net';

export interface RawResponse {
  /** 0 when the server closed without an answer. */
  status: number;
  headers: string;
  body: string;
}

export function rawRequest(port: number, parts: ReadonlyArray<Buffer | string>, opts: { gapMs?: number; timeoutMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer within ${opts.timeoutMs ?? 10_000} ms`));
    }, opts.timeoutMs ?? 10_000);
    sock.on('data', (c: Buffer) => chunks.push(c));
    // A reset after the answer was read is fine; the answer is what counts.
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(parse(Buffer.concat(chunks).toString('utf8')));
    });
    void (async () => {
      for (const p of parts) {
        if (sock.destroyed) return;
        sock.write(p);
        if (opts.gapMs !== undefined) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
    })();
  });
}

function parse(text: string): RawResponse {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (m === null) return { status: 0, headers: '', body: text };
  const split = text.indexOf('\r\n\r\n');
  const headers = split < 0 ? text : text.slice(0, split);
  let body = split < 0 ? '' : text.slice(split + 4);
  if (/transfer-encoding: chunked/i.test(headers)) body = dechunk(body);
  return { status: Number(m[1]), headers, body };
}

function dechunk(s: string): string {
  let out = '';
  let rest = s;
  for (;;) {
    const nl = rest.indexOf('\r\n');
    if (nl < 0) return out;
    const n = parseInt(rest.slice(0, nl), 16);
    if (!Number.isFinite(n) || n === 0) return out;
    out += rest.slice(nl + 2, nl + 2 + n);
    rest = rest.slice(nl + 2 + n + 2);
  }
}

/** One request with `Connection: close`, so the socket's close marks the end of the answer. */
export function httpBytes(method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Buffer {
  const b = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body);
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body !== undefined && headers['transfer-encoding'] === undefined) lines.push(`Content-Length: ${b.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), b]);
}
