// A loopback pass-through in front of iron-api for the runner's calls. It adds no hooks to the
// runner: it only watches the protocol, so a benchmark knows the moment the API has accepted a
// task's finish ("complete as seen by the API") and how many long-poll reserves the runner makes.
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FinishSeen {
  taskId: string;
  status: string;
  logSize: number;
  at: number;
}

export interface RunnerProxy {
  url: string;
  reserves: number;
  /** Resolves when the API answered 200 to the runner's finish of `taskId`. */
  finished(taskId: string, timeoutMs: number): Promise<FinishSeen>;
  /** Every finish seen so far, in order. */
  readonly finishes: FinishSeen[];
  close(): Promise<void>;
}

const FINISH = /\/runner\/tasks\/([^/]+)\/finish$/;

export async function startProxy(target: string): Promise<RunnerProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const finishes: FinishSeen[] = [];
  const waiters = new Map<string, (f: FinishSeen) => void>();
  const seen = new Map<string, FinishSeen>();
  const state = { reserves: 0 };
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    const pathOnly = url.split('?')[0] ?? url;
    if (pathOnly.endsWith('/runner/reserve')) state.reserves++;
    const finish = FINISH.exec(pathOnly);
    const body: Buffer[] = [];
    const up = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: url,
        headers: req.headers,
        agent,
      },
      (ures) => {
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        if (finish?.[1] !== undefined && ures.statusCode === 200) {
          const taskId = decodeURIComponent(finish[1]);
          ures.on('end', () => {
            let status = 'unknown';
            let logSize = Number.NaN;
            try {
              const sent = JSON.parse(Buffer.concat(body).toString()) as { status?: unknown; log_size?: unknown };
              status = String(sent.status);
              logSize = Number(sent.log_size);
            } catch {
              // a malformed finish body is the runner's bug; the API answered, which is what we time
            }
            const f = { taskId, status, logSize, at: performance.now() };
            finishes.push(f);
            seen.set(taskId, f);
            waiters.get(taskId)?.(f);
          });
        }
        ures.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    if (finish !== null) req.on('data', (c: Buffer) => body.push(c));
    req.pipe(up);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get reserves() {
      return state.reserves;
    },
    finishes,
    finished(taskId, timeoutMs) {
      const already = seen.get(taskId);
      if (already !== undefined) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(taskId);
          reject(new Error(`task ${taskId} not finished within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(taskId, (f) => {
          clearTimeout(timer);
          waiters.delete(taskId);
          resolve(f);
        });
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
