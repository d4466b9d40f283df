// A small in-memory stand-in for iron-api with the v2 routes the CLI uses, on 127.0.0.1:0. Tasks of
// a code with a `script` move queued -> running (writing log lines) -> final on timers, the way a
// runner would drive them, so `--wait` and `log --follow` see live progress.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface TaskScript {
  readonly lines: readonly string[];
  readonly final: 'complete' | 'error' | 'timeout' | 'killed';
  readonly msg?: string;
  readonly stepMs?: number;
}

export interface FakeTask {
  id: string;
  code_name: string;
  status: string;
  msg: string;
  payload: string;
  cluster: string;
  priority?: number;
  timeout?: number;
  delay?: number;
  label?: string;
  created_at: string;
  log: string;
}

export interface FakeIronApi {
  readonly url: string;
  readonly port: number;
  readonly projectId: string;
  readonly token: string;
  readonly codes: Map<string, { id: string; name: string; image: string; command: string; rev: number; raw: unknown }>;
  readonly tasks: Map<string, FakeTask>;
  readonly scripts: Map<string, TaskScript>;
  readonly clusters: Map<string, { id: string; name: string; memory: number; disk_space: number; token: string }>;
  readonly requests: { method: string; url: string; body: string }[];
  close(): Promise<void>;
}

const hex24 = (): string => randomBytes(12).toString('hex');

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function parseCode(req: IncomingMessage, body: string): Record<string, unknown> {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('application/json')) return JSON.parse(body) as Record<string, unknown>;
  const m = /name="data"\r\n\r\n([\s\S]*?)\r\n--/.exec(body);
  if (m === null) throw new Error('no data part');
  return JSON.parse(m[1] ?? '') as Record<string, unknown>;
}

export async function startFakeIronApi(): Promise<FakeIronApi> {
  const projectId = hex24();
  const token = `user-${randomBytes(8).toString('hex')}`;
  const timers = new Set<NodeJS.Timeout>();
  const api: Omit<FakeIronApi, 'url' | 'port' | 'close'> = {
    projectId,
    token,
    codes: new Map(),
    tasks: new Map(),
    scripts: new Map(),
    clusters: new Map(),
    requests: [],
  };
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const drive = (task: FakeTask, script: TaskScript): void => {
    const step = script.stepMs ?? 150;
    later(step, () => {
      if (task.status !== 'queued') return;
      task.status = 'running';
      script.lines.forEach((line, i) =>
        later(step * (i + 1), () => {
          if (task.status === 'running') task.log += `${line}\n`;
        }),
      );
      later(step * (script.lines.length + 1), () => {
        if (task.status !== 'running') return;
        task.status = script.final;
        task.msg = script.msg ?? '';
      });
    });
  };

  const route = (req: IncomingMessage, body: string, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (req.headers.authorization !== `OAuth ${token}`) return send(res, 401, { msg: 'Invalid authentication: The OAuth token is either not provided or invalid.' });
    const p = `/2/projects/${projectId}`;
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && path === p) return send(res, 200, { id: projectId, name: 'test' });
    if (req.method === 'POST' && path === `${p}/codes`) {
      const data = parseCode(req, body);
      const name = String(data.name);
      const prev = api.codes.get(name);
      const code = { id: prev?.id ?? hex24(), name, image: String(data.image), command: typeof data.command === 'string' ? data.command : '', rev: (prev?.rev ?? 0) + 1, raw: data };
      api.codes.set(name, code);
      return send(res, 200, { id: code.id, name, rev: code.rev, msg: 'Upload successful.' });
    }
    if (req.method === 'POST' && path === `${p}/tasks`) {
      const { tasks } = JSON.parse(body) as { tasks: Record<string, unknown>[] };
      const missing = tasks.find((t) => !api.codes.has(String(t.code_name)));
      if (missing !== undefined) return send(res, 404, { msg: `Code not found: ${String(missing.code_name)}` });
      const ids = tasks.map((t) => {
        const task: FakeTask = {
          id: hex24(),
          code_name: String(t.code_name),
          status: 'queued',
          msg: '',
          payload: String(t.payload),
          cluster: typeof t.cluster === 'string' ? t.cluster : '',
          created_at: new Date().toISOString(),
          log: '',
          ...(typeof t.priority === 'number' ? { priority: t.priority } : {}),
          ...(typeof t.timeout === 'number' ? { timeout: t.timeout } : {}),
          ...(typeof t.delay === 'number' ? { delay: t.delay } : {}),
          ...(typeof t.label === 'string' ? { label: t.label } : {}),
        };
        api.tasks.set(task.id, task);
        const script = api.scripts.get(task.code_name);
        if (script !== undefined) drive(task, script);
        return { id: task.id };
      });
      return send(res, 200, { msg: 'Queued up', tasks: ids });
    }
    if (req.method === 'GET' && path === `${p}/tasks`) {
      const statuses = ['queued', 'preparing', 'running', 'complete', 'error', 'cancelled', 'timeout', 'killed'].filter((s) => url.searchParams.get(s));
      const code = url.searchParams.get('code_name') ?? '';
      const list = [...api.tasks.values()].filter((t) => (code === '' || t.code_name === code) && (statuses.length === 0 || statuses.includes(t.status)));
      return send(res, 200, { tasks: list.reverse().map(({ log: _l, ...t }) => t) });
    }
    if ((m = new RegExp(`^${p}/tasks/([^/]+)(/log|/cancel|/retry)?$`).exec(path)) !== null) {
      const task = api.tasks.get(m[1] ?? '');
      if (task === undefined) return send(res, 404, { msg: 'Task not found' });
      const action = m[2];
      if (action === undefined && req.method === 'GET') {
        const { log: _l, ...t } = task;
        return send(res, 200, { ...t, log_size: task.log.length });
      }
      if (action === '/log' && req.method === 'GET') {
        if (task.log === '') return send(res, 404, { msg: 'Log not found' });
        res.writeHead(200, { 'content-type': 'text/plain' });
        return void res.end(task.log);
      }
      if (action === '/cancel' && req.method === 'POST') {
        task.status = 'cancelled';
        return send(res, 200, { msg: 'Cancelled' });
      }
      if (action === '/retry' && req.method === 'POST') {
        const copy = { ...task, id: hex24(), status: 'queued', msg: '', log: '' };
        api.tasks.set(copy.id, copy);
        return send(res, 200, { msg: 'Queued up', tasks: [{ id: copy.id }] });
      }
    }
    if (req.method === 'POST' && path === '/2/clusters') {
      const b = JSON.parse(body) as { name: string; memory?: number; disk?: number };
      const c = { id: hex24(), name: b.name, memory: b.memory ?? 268435456, disk_space: b.disk ?? 10737418240, token: `ct-${hex24()}` };
      api.clusters.set(c.id, c);
      const { token: _t, ...shown } = c;
      return send(res, 200, { msg: 'Cluster created', cluster: shown });
    }
    if (req.method === 'GET' && path === '/2/clusters') return send(res, 200, { clusters: [...api.clusters.values()].map(({ token: _t, ...c }) => c) });
    if ((m = /^\/2\/clusters\/([^/]+)(\/credentials)?$/.exec(path)) !== null) {
      const c = api.clusters.get(m[1] ?? '');
      if (c === undefined) return send(res, 404, { msg: 'Cluster not found' });
      if (m[2] === '/credentials') return send(res, 200, { token: c.token, cluster: { id: c.id, tokens: [c.token] } });
      if (req.method === 'DELETE') {
        api.clusters.delete(c.id);
        return send(res, 200, { msg: 'Cluster deleted' });
      }
      const { token: _t, ...shown } = c;
      return send(res, 200, { cluster: shown });
    }
    return send(res, 404, { msg: `no route ${req.method ?? ''} ${path}` });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      api.requests.push({ method: req.method ?? '', url: req.url ?? '', body });
      try {
        route(req, body, res);
      } catch (err) {
        send(res, 400, { msg: String(err) });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...api,
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
