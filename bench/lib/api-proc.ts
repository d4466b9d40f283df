// iron-api as a real child process (the production shape, and its RSS is its own), on a port picked
// here, with a temp SQLite data dir. The fresh data dir prints its credentials once on stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, stopProcess } from './proc.js';

export interface ApiProc {
  url: string;
  pid: number;
  projectId: string;
  projectToken: string;
  clusterId: string;
  clusterToken: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const FIELDS = { 'project id': 'projectId', 'project token': 'projectToken', 'cluster id': 'clusterId', 'cluster token': 'clusterToken' } as const;

/** `main`: another build's iron-api (a benchmark comparing two builds side by side). */
export async function startApiProcess(main = path.join(ROOT, 'dist/src/server/main.js')): Promise<ApiProc> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'iron-bench-api-'));
  const port = await freePort();
  const proc: ChildProcess = spawn(process.execPath, [main], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const creds: Partial<Record<(typeof FIELDS)[keyof typeof FIELDS], string>> = {};
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const stop = async (): Promise<void> => {
    await stopProcess(proc, 15_000);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`iron-api did not start within 20 s: ${stderr}`)), 20_000);
      proc.on('exit', (code) => reject(new Error(`iron-api exited with ${code ?? 'signal'}: ${stderr}`)));
      proc.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        for (const [label, key] of Object.entries(FIELDS)) {
          const m = new RegExp(`${label}:\\s+(\\S+)`).exec(out);
          if (m?.[1] !== undefined) creds[key] = m[1];
        }
        if (Object.keys(creds).length === 4) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const { projectId, projectToken, clusterId, clusterToken } = creds;
    if (projectId === undefined || projectToken === undefined || clusterId === undefined || clusterToken === undefined || proc.pid === undefined) {
      throw new Error('iron-api did not print its bootstrap credentials');
    }
    return { url: `http://127.0.0.1:${port}`, pid: proc.pid, projectId, projectToken, clusterId, clusterToken, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
