// A TCP proxy on loopback between a client and a server that delays, drops and cuts connections,
// bounded in time and probability, for network-fault tests. Only ever targets 127.0.0.1.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ChaosOptions {
  /** Extra delay per forwarded chunk, uniformly 0..maxDelayMs. */
  maxDelayMs: number;
  /** Probability that a new connection is refused outright (closed at once). */
  dropConnection: number;
  /** Probability, per forwarded chunk, that both sides are cut mid-stream. */
  cutPerChunk: number;
  /**
   * Forward every request, but cut both sides when the server's answer starts: the server has acted,
   * the client never hears of it (what a replica dying between its commit and its answer looks like).
   */
  cutResponses?: boolean;
  /** Hold every byte in both directions (a partitioned link) until set back to false; nothing is lost. */
  paused?: boolean;
}

export interface ChaosProxy {
  url: string;
  stats: { connections: number; dropped: number; cut: number };
  set(opts: Partial<ChaosOptions>): void;
  close(): Promise<void>;
}

export async function startChaosProxy(targetPort: number, initial: ChaosOptions): Promise<ChaosProxy> {
  let opts = { ...initial };
  // Forwarding waits on this gate; pausing swaps in an unresolved one.
  let gate = Promise.resolve();
  let openGate = (): void => undefined;
  const setPaused = (paused: boolean): void => {
    if (paused) gate = new Promise<void>((r) => (openGate = r));
    else openGate();
  };
  if (initial.paused === true) setPaused(true);
  const stats = { connections: 0, dropped: 0, cut: 0 };
  const sockets = new Set<Socket>();
  const track = (s: Socket): Socket => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    return s;
  };
  const server: Server = createServer((client) => {
    track(client);
    stats.connections++;
    if (Math.random() < opts.dropConnection) {
      stats.dropped++;
      client.destroy();
      return;
    }
    const upstream = track(connect(targetPort, '127.0.0.1'));
    const cut = (): void => {
      stats.cut++;
      client.destroy();
      upstream.destroy();
    };
    const forward = (from: Socket, to: Socket): void => {
      let chain = Promise.resolve();
      from.on('data', (chunk: Buffer) => {
        if (from === upstream && opts.cutResponses === true) {
          cut();
          return;
        }
        from.pause();
        const delay = Math.random() * opts.maxDelayMs;
        chain = chain
          .then(() => gate)
          .then(
            () =>
              new Promise<void>((r) =>
                setTimeout(() => {
                  if (Math.random() < opts.cutPerChunk) cut();
                  else if (!to.destroyed) to.write(chunk);
                  from.resume();
                  r();
                }, delay),
              ),
          );
      });
      from.on('end', () => void chain.then(() => to.end()));
      from.on('close', () => void chain.then(() => to.destroy()));
    };
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    set(o) {
      if (o.paused !== undefined && o.paused !== (opts.paused === true)) setPaused(o.paused);
      opts = { ...opts, ...o };
    },
    async close() {
      openGate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
