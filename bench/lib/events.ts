// The engine's event stream for one runner instance's containers. Docker stamps each event with
// timeNano on the host clock, so "when did the engine finish creating this task's container" needs no hook
// in the runner. Subscribed before any task is queued (dockerd keeps only a short event backlog).
import { request, type ClientRequest } from 'node:http';
import { LABEL_INSTANCE, LABEL_ROLE, LABEL_TASK } from '../../src/sandbox/labels.js';
import { FirstSeen, taskRoleKey } from './first-seen.js';
import { SOCKET } from './raw-engine.js';

export interface CreateEvent {
  taskId: string;
  role: string;
  epochMs: number;
}

export interface EngineEvents {
  /** Resolves with the first container `create` event of `taskId` in `role`. */
  created(taskId: string, role: string, timeoutMs: number): Promise<CreateEvent>;
  close(): void;
}

export async function watchCreates(instanceId: string): Promise<EngineEvents> {
  const creates = new FirstSeen<CreateEvent>();
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
          creates.record(taskRoleKey(taskId, role), { taskId, role, epochMs: e.timeNano / 1e6 });
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
      return creates.wait(taskRoleKey(taskId, role), timeoutMs, `no ${role} create event for ${taskId}`);
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
