// iron-api as a real child process (the production shape, and its RSS is its own), on a port picked
// here, with a temp SQLite data dir. The fresh data dir prints its credentials once on stdout. The
// benchmarks and the tests that need a real process (kill -9, umask) start it through this one file
// (tests via test/helpers/api-process.ts); it is ready when its JSON log says `server.listening`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { ROOT, stopProcess } from './proc.js';

export interface Credentials {
  projectId: string;
  projectToken: string;
  clusterId: string;
  clusterToken: string;
}

export interface ApiProc extends Credentials {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface SpawnApiOptions {
  /** Data dir to serve; default a fresh temp dir, removed by stop(). A given one is the caller's. */
  dataDir?: string;
  /** Default a free port; a restart passes the earlier one so clients keep their URL; 0 lets it pick. */
  port?: number;
  /** Repository root holding dist/ (bench runs from dist/bench/lib, tests from the sources). */
  root?: string;
  /** Another build's iron-api main.js (a benchmark comparing two builds side by side). */
  main?: string;
  /** The `server.listening` line is logged at info: a higher level would never report ready. */
  logLevel?: 'info' | 'debug';
  startTimeoutMs?: number;
  /** PostgreSQL instead of the data dir's SQLite (test/helpers/postgres.ts createDatabase gives one). */
  databaseUrl?: string;
  /** More environment (LEASE, HEARTBEAT_INTERVAL, ...); PATH, DATA_DIR, PORT, HOST and LOG_LEVEL are set here. */
  env?: Readonly<Record<string, string>>;
  /**
   * Wait for the bootstrap credentials on stdout too. Default: on a data dir made here. A replica
   * on a shared database that another one bootstrapped prints none: pass false (or a `dataDir`).
   */
  waitForCredentials?: boolean;
}

export interface ApiProcess {
  proc: ChildProcess;
  pid: number;
  port: number;
  url: string;
  dataDir: string;
  /** What a fresh data dir printed once on stdout; null when the dir was served before. */
  credentials: Credentials | null;
  /** Everything it printed on stdout so far. */
  stdout(): string;
  /** The last 4000 characters of its log (stderr), to explain a replica that died. */
  stderr(): string;
  /** SIGTERM, SIGKILL after 15 s; removes the data dir when it is ours. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (a crash), keeping the data dir for a restart; resolves once the process is gone. */
  kill(): Promise<void>;
}

const FIELDS = { 'project id': 'projectId', 'project token': 'projectToken', 'cluster id': 'clusterId', 'cluster token': 'clusterToken' } as const;

/** The URL from iron-api's JSON log line that says it accepts connections; undefined for other lines. */
export function listeningUrl(line: string): string | undefined {
  try {
    const l = JSON.parse(line) as { event?: unknown; url?: unknown };
    return l.event === 'server.listening' && typeof l.url === 'string' ? l.url : undefined;
  } catch {
    return undefined;
  }
}

function credentialsIn(out: string): Credentials | null {
  const found: Partial<Credentials> = {};
  for (const [label, key] of Object.entries(FIELDS)) {
    // A field counts once its line is complete: the token may arrive in two chunks.
    const m = new RegExp(`${label}:\\s+(\\S+)\\n`).exec(out);
    if (m?.[1] !== undefined) found[key] = m[1];
  }
  const { projectId, projectToken, clusterId, clusterToken } = found;
  if (projectId === undefined || projectToken === undefined || clusterId === undefined || clusterToken === undefined) return null;
  return { projectId, projectToken, clusterId, clusterToken };
}

/**
 * Spawns iron-api and resolves once it logged `server.listening` and, on a data dir made here (a
 * fresh one), once it printed the credentials as well (stdout and stderr are separate pipes). A second
 * replica on an already bootstrapped database (`databaseUrl`) prints none: pass it a `dataDir`.
 */
export async function spawnApiProcess(opts: SpawnApiOptions = {}): Promise<ApiProcess> {
  const ours = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'iron-api-proc-'));
  const port = opts.port ?? (await freePort());
  const proc = spawn(process.execPath, [opts.main ?? path.join(opts.root ?? ROOT, 'dist/src/server/main.js')], {
    env: {
      ...opts.env,
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: opts.logLevel ?? 'info',
      ...(opts.databaseUrl === undefined ? {} : { DATABASE_URL: opts.databaseUrl }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stderr = '';
  let pending = '';
  let listening: string | undefined;
  const changed = new Set<() => void>();
  proc.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
    for (const f of changed) f();
  });
  proc.stderr?.on('data', (c: Buffer) => {
    const text = c.toString();
    stderr = (stderr + text).slice(-4000);
    pending += text;
    let i: number;
    while ((i = pending.indexOf('\n')) >= 0) {
      listening ??= listeningUrl(pending.slice(0, i));
      pending = pending.slice(i + 1);
    }
    for (const f of changed) f();
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await stopProcess(proc, 15_000);
      if (ours) rmSync(dataDir, { recursive: true, force: true });
    })();
    return stopped;
  };
  const kill = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  };
  try {
    const timeoutMs = opts.startTimeoutMs ?? 20_000;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (listening !== undefined && (!(opts.waitForCredentials ?? ours) || credentialsIn(out) !== null)) done();
      };
      const timer = setTimeout(() => done(new Error(`iron-api did not log server.listening within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
      const onExit = (code: number | null): void => done(new Error(`iron-api exited with ${code ?? 'a signal'} before listening: ${stderr}`));
      function done(err?: Error): void {
        clearTimeout(timer);
        changed.delete(check);
        proc.off('exit', onExit);
        if (err === undefined) resolve();
        else reject(err);
      }
      proc.once('exit', onExit);
      changed.add(check);
      check();
    });
    if (proc.pid === undefined || listening === undefined) throw new Error('iron-api has no pid');
    return { proc, pid: proc.pid, port: Number(new URL(listening).port), url: listening, dataDir, credentials: credentialsIn(out), stdout: () => out, stderr: () => stderr, stop, kill };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A fresh iron-api for a benchmark, with the credentials it printed. */
export async function startApiProcess(main?: string): Promise<ApiProc> {
  const api = await spawnApiProcess(main === undefined ? {} : { main });
  if (api.credentials === null) {
    await api.stop();
    throw new Error('iron-api did not print its bootstrap credentials');
  }
  return { url: api.url, pid: api.pid, ...api.credentials, stop: () => api.stop() };
}
