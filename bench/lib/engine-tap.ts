// A pass-through unix socket between iron-runner and dockerd that notes the moment each container
// create request reaches it, with the task and role labels it carries. Pickup is measured to the
// runner's create *call*, as the issue defines it; the engine's create event only fires once create
// has finished (~10-15 ms later on these machines). The tap adds no hooks to the runner: it only
// sees the bytes the runner sends to the Docker socket.
import { rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { epochNowMs } from './events.js';
import { FirstSeen, taskRoleKey } from './first-seen.js';
import { SOCKET } from './raw-engine.js';

export interface CreateCall {
  taskId: string;
  role: string;
  epochMs: number;
}

export interface EngineTap {
  /** DOCKER_HOST value for the runner. */
  dockerHost: string;
  /** Resolves with the first create call of `taskId` in `role`. */
  createCall(taskId: string, role: string, timeoutMs: number): Promise<CreateCall>;
  close(): Promise<void>;
}

const CREATE = /^POST (?:\/v[\d.]+)?\/containers\/create/;
// The labels arrive as JSON in the body and, with dockerode, also in the query string (URL-encoded).
const TASK = /io\.iron-runner\.task(?:%22%3A%22|":")([^"%]+)/;
const ROLE = /io\.iron-runner\.role(?:%22%3A%22|":")([^"%]+)/;
const MAX_SCAN = 256 * 1024;

export async function startEngineTap(): Promise<EngineTap> {
  const sock = path.join(tmpdir(), `iron-bench-tap-${process.pid}-${Date.now()}.sock`);
  const calls = new FirstSeen<CreateCall>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(SOCKET);
    sockets.add(client).add(upstream);
    // One pending create per connection: HTTP/1.1 requests on a connection do not interleave.
    let pending: { at: number; text: string } | undefined;
    client.on('data', (d: Buffer) => {
      const head = d.subarray(0, 64).toString('latin1');
      if (CREATE.test(head)) pending = { at: epochNowMs(), text: '' };
      if (pending !== undefined) {
        pending.text += d.subarray(0, MAX_SCAN).toString('latin1');
        const task = TASK.exec(pending.text)?.[1];
        const role = ROLE.exec(pending.text)?.[1];
        if (task !== undefined && role !== undefined) {
          const taskId = decodeURIComponent(task);
          calls.record(taskRoleKey(taskId, role), { taskId, role, epochMs: pending.at });
          pending = undefined;
        } else if (pending.text.length > MAX_SCAN) {
          pending = undefined;
        }
      }
      upstream.write(d);
    });
    upstream.pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sock, () => resolve());
  });
  return {
    dockerHost: `unix://${sock}`,
    createCall(taskId, role, timeoutMs) {
      return calls.wait(taskRoleKey(taskId, role), timeoutMs, `no ${role} create call for ${taskId}`);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(sock, { force: true });
    },
  };
}
