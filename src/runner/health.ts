// METRICS_ADDR: /healthz (the process is alive), /readyz (engine and API reachable, not draining;
// one line per part, see readiness.ts), /metrics (Prometheus). Readiness is what a load balancer or
// Kubernetes uses to stop sending work. Served from the daemon's first second on.
import { createServer } from 'node:http';
import type { RunnerEvents } from './events.js';
import type { RunnerMetrics } from './metrics.js';

export interface ReadinessReport {
  ok: boolean;
  /** Why not, in one line (every unhealthy part). */
  reason?: string;
  /** "part: ok" or "part: why", one per part. */
  parts?: string[];
}

export interface ReadinessProbe {
  ready(signal: AbortSignal): Promise<ReadinessReport>;
}

export async function startHealthServer(addr: { host: string; port: number }, metrics: RunnerMetrics, probe: ReadinessProbe, events: RunnerEvents): Promise<{ close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/healthz') return send(200, 'ok\n');
    if (path === '/readyz') {
      probe.ready(AbortSignal.timeout(3_000)).then(
        (r) => send(r.ok ? 200 : 503, `${r.ok ? 'ready' : `not ready: ${r.reason ?? 'unknown'}`}\n${(r.parts ?? []).map((p) => `${p}\n`).join('')}`),
        () => send(503, 'not ready: probe failed\n'),
      );
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => send(200, text, metrics.registry.contentType),
        () => send(500, 'metrics unavailable\n'),
      );
      return;
    }
    send(404, 'not found\n');
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : addr.port;
  events.emit('endpoints.listening', { addr: `${addr.host}:${port}` });
  let closed: Promise<void> | undefined;
  return {
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
