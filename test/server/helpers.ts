// A real iron-api on 127.0.0.1 port 0 with a temp data dir, and a tiny fetch-based caller.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverConfig, type ServerConfig } from '../../src/config/server.js';
import { silentLogger } from '../../src/log.js';
import { startServer, type ServerHandle } from '../../src/server/start.js';

export interface TestServer {
  handle: ServerHandle;
  dir: string;
  url: string;
  pid: string;
  token: string;
  cid: string;
  ctoken: string;
  close(): Promise<void>;
}

export async function startTestServer(overrides: Partial<ServerConfig> = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'iron-api-test-'));
  const handle = await startServer({ config: serverConfig({ port: 0, ...overrides, dataDir: dir }), log: silentLogger() });
  const b = handle.bootstrap;
  if (b === null) throw new Error('fresh data dir did not bootstrap');
  return {
    handle, dir, url: handle.url, pid: b.projectId, token: b.projectToken, cid: b.clusterId, ctoken: b.clusterToken,
    async close() {
      await handle.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Res<T = Record<string, unknown>> { status: number; body: T; text: string; type: string }

export async function call<T = Record<string, unknown>>(
  url: string, method: string, path: string, opts: { token?: string; json?: unknown; body?: string | Buffer; type?: string } = {},
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

/** Registers an image code and returns its id. */
export async function registerCode(s: TestServer, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await call(s.url, 'POST', `/2/projects/${s.pid}/codes`, { token: s.token, json: { name, image: 'iron-test/busybox:1', ...extra } });
  if (r.status !== 200) throw new Error(`register failed: ${r.status} ${r.text}`);
  return r.body['id'] as string;
}

export async function queue(s: TestServer, tasks: Record<string, unknown>[]): Promise<string[]> {
  const r = await call<{ tasks: { id: string }[] }>(s.url, 'POST', `/2/projects/${s.pid}/tasks`, { token: s.token, json: { tasks } });
  if (r.status !== 200) throw new Error(`queue failed: ${r.status} ${r.text}`);
  return r.body.tasks.map((t) => t.id);
}

export interface Reserved { id: string; reservation_id: string; priority: number; attempt: number; [k: string]: unknown }

export async function reserve(s: TestServer, n = 1, wait = 0, instance = 'runner-1', cid = s.cid, token = s.ctoken): Promise<Reserved[]> {
  const r = await call<{ tasks: Reserved[] }>(s.url, 'POST', `/2/clusters/${cid}/runner/reserve`, { token, json: { instance_id: instance, n, wait } });
  if (r.status !== 200) throw new Error(`reserve failed: ${r.status} ${r.text}`);
  return r.body.tasks;
}

export function runnerPath(s: TestServer, taskId: string, action: string): string {
  return `/2/clusters/${s.cid}/runner/tasks/${taskId}/${action}`;
}

export async function getTask(s: TestServer, id: string): Promise<Record<string, unknown>> {
  const r = await call(s.url, 'GET', `/2/projects/${s.pid}/tasks/${id}`, { token: s.token });
  if (r.status !== 200) throw new Error(`get task failed: ${r.status} ${r.text}`);
  return r.body;
}

export async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
