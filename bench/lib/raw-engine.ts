// The physical floor every container benchmark compares against: the Docker Engine API spoken
// directly over the unix socket with node:http (no client library), create/start/wait/delete,
// on the same image, limits and network as the runner's job containers.
import { request, type IncomingMessage } from 'node:http';

export const SOCKET = '/var/run/docker.sock';
export const IMAGE = 'iron-test/busybox:1';
export const BENCH_LABEL = 'io.iron-runner.bench';
const API = '/v1.41';
/** A hung engine must fail the benchmark, not hang it: no single call of a trivial cycle takes this long. */
const CALL_MS = 120_000;

export interface EngineReply {
  status: number;
  json: unknown;
}

export function engineApi(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<EngineReply> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = data === undefined ? {} : { 'content-type': 'application/json', 'content-length': data.length };
    const bounded = AbortSignal.any([AbortSignal.timeout(CALL_MS), ...(signal === undefined ? [] : [signal])]);
    const req = request({ socketPath: SOCKET, method, path: `${API}${path}`, headers, signal: bounded }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        try {
          resolve({ status: res.statusCode ?? 0, json: text === '' ? null : (JSON.parse(text) as unknown) });
        } catch {
          resolve({ status: res.statusCode ?? 0, json: text });
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

export interface RawSpec {
  network: string;
  memoryBytes: number;
  cmd: string[];
  label: string;
}

/** The job container's create body minus the per-task input volume (the part the runner adds). */
export function rawCreateBody(s: RawSpec): Record<string, unknown> {
  const tmpfs = `rw,exec,nosuid,nodev,size=${Math.floor(s.memoryBytes / 2)},mode=1777`;
  return {
    Image: IMAGE,
    Cmd: s.cmd,
    Labels: { [BENCH_LABEL]: s.label },
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      Init: true,
      Memory: s.memoryBytes,
      MemorySwap: s.memoryBytes,
      PidsLimit: 256,
      ReadonlyRootfs: true,
      Tmpfs: { '/task': tmpfs, '/tmp': tmpfs },
      ShmSize: Math.min(64 * 1024 * 1024, Math.floor(s.memoryBytes / 2)),
      NetworkMode: s.network,
      SecurityOpt: ['no-new-privileges'],
      CapDrop: ['ALL'],
      CapAdd: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID', 'KILL', 'NET_BIND_SERVICE'],
      LogConfig: { Type: 'none', Config: {} },
    },
  };
}

async function ok(r: Promise<EngineReply>, what: string, want: number[]): Promise<EngineReply> {
  const res = await r;
  if (!want.includes(res.status)) throw new Error(`raw ${what}: HTTP ${res.status} ${JSON.stringify(res.json).slice(0, 200)}`);
  return res;
}

export async function rawCreate(s: RawSpec): Promise<string> {
  const created = await ok(engineApi('POST', '/containers/create', rawCreateBody(s)), 'create', [201]);
  return (created.json as { Id: string }).Id;
}

/** Attaches to stdout/stderr (before start, like the runner) and resolves with the byte count at stream end. */
export function rawAttach(id: string): Promise<{ done: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath: SOCKET,
      method: 'POST',
      path: `${API}/containers/${id}/attach?stream=1&stdout=1&stderr=1`,
      headers: { connection: 'Upgrade', upgrade: 'tcp' },
      signal: AbortSignal.timeout(CALL_MS),
    });
    req.on('upgrade', (_res: IncomingMessage, socket, head: Buffer) => {
      let bytes = head.length;
      const done = new Promise<number>((res, rej) => {
        socket.on('data', (c: Buffer) => {
          bytes += c.length;
        });
        socket.on('end', () => res(bytes));
        socket.on('close', () => res(bytes));
        socket.on('error', rej);
      });
      resolve({ done });
    });
    req.on('response', (res) => reject(new Error(`raw attach: HTTP ${res.statusCode ?? 0}`)));
    req.on('error', reject);
    req.end();
  });
}

/** One full cycle: create, (attach), start, wait, delete. Returns its wall time in ms. */
export async function rawCycle(s: RawSpec, opts: { attach?: boolean } = {}): Promise<number> {
  const t0 = performance.now();
  const id = await rawCreate(s);
  try {
    const attached = opts.attach === true ? await rawAttach(id) : undefined;
    await ok(engineApi('POST', `/containers/${id}/start`), 'start', [204, 304]);
    await ok(engineApi('POST', `/containers/${id}/wait`), 'wait', [200]);
    await attached?.done;
  } finally {
    await engineApi('DELETE', `/containers/${id}?force=1&v=1`);
  }
  return performance.now() - t0;
}

/** Removes every container a benchmark labelled with `label` (after a failure part-way). */
export async function removeLabelled(label: string): Promise<void> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${BENCH_LABEL}=${label}`] }));
  const list = await engineApi('GET', `/containers/json?all=1&filters=${filters}`);
  for (const c of (list.json as { Id: string }[] | null) ?? []) await engineApi('DELETE', `/containers/${c.Id}?force=1&v=1`);
}

/** Runs `n` raw cycles with `parallel` in flight; returns containers per second. */
export async function rawThroughput(s: RawSpec, n: number, parallel: number): Promise<{ perSecond: number; latencies: number[] }> {
  let next = 0;
  const latencies: number[] = [];
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      latencies.push(await rawCycle(s));
    }
  };
  await Promise.all(Array.from({ length: parallel }, () => worker()));
  return { perSecond: n / ((performance.now() - t0) / 1000), latencies };
}
