// The engine's event stream for one runner instance's containers. Docker stamps each event with
// timeNano on the host clock, so "when did the runner's create call reach the engine" needs no hook
// in the runner. Subscribed before any task is queued (dockerd keeps only a short event backlog).
import { request, type ClientRequest } from 'node:http';
import { SOCKET } from './raw-engine.js';

export interface CreateEvent { taskId: string; role: string; epochMs: number }

export interface EngineEvents {
  /** Resolves with the first container `create` event of `taskId` in `role`. */
  created(taskId: string, role: string, timeoutMs: number): Promise<CreateEvent>;
  close(): void;
}

const LABEL_TASK = 'io.iron-runner.task';
const LABEL_ROLE = 'io.iron-runner.role';
const LABEL_INSTANCE = 'io.iron-runner.instance';

export async function watchCreates(instanceId: string): Promise<EngineEvents> {
  const seen = new Map<string, CreateEvent>();
  const waiters = new Map<string, (e: CreateEvent) => void>();
  const filters = encodeURIComponent(JSON.stringify({ type: ['container'], event: ['create'], label: [`${LABEL_INSTANCE}=${instanceId}`] }));
  let req: ClientRequest | undefined;
  await new Promise<void>((resolve, reject) => {
    req = request({ socketPath: SOCKET, method: 'GET', path: `/v1.41/events?filters=${filters}` }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`engine events: HTTP ${res.statusCode ?? 0}`));
        return;
      }
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (line === '') continue;
          const e = JSON.parse(line) as { timeNano?: number; Actor?: { Attributes?: Record<string, string> } };
          const taskId = e.Actor?.Attributes?.[LABEL_TASK];
          const role = e.Actor?.Attributes?.[LABEL_ROLE];
          if (taskId === undefined || role === undefined || e.timeNano === undefined) continue;
          const key = `${taskId}\u0000${role}`;
          if (seen.has(key)) continue;
          const ev = { taskId, role, epochMs: e.timeNano / 1e6 };
          seen.set(key, ev);
          waiters.get(key)?.(ev);
        }
      });
      res.on('error', () => undefined);
      resolve();
    });
    req.on('error', reject);
    req.end();
  });
  return {
    created(taskId, role, timeoutMs) {
      const key = `${taskId}\u0000${role}`;
      const already = seen.get(key);
      if (already !== undefined) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(key);
          reject(new Error(`no ${role} create event for ${taskId} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(key, (e) => {
          clearTimeout(timer);
          waiters.delete(key);
          resolve(e);
        });
      });
    },
    close() {
      req?.destroy();
    },
  };
}

/** Now on the host's wall clock with sub-millisecond resolution (comparable with timeNano). */
export function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}
