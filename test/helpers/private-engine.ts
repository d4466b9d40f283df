// A second Docker engine of the test's own (own network namespace, socket, data root, exec root, pid
// file), so a test can kill and restart "the engine" without touching the machine's engine or other
// tests. The namespace matters: a second dockerd in the host namespace deletes the first one's docker0.
// It shares the runtime settings of /etc/docker/daemon.json and loads the test image from the main engine.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { TEST_IMAGE } from './docker.js';

export interface PrivateEngine {
  dockerHost: string;
  /** The engine's network namespace (`ip netns` name): a "host" the test controls. */
  netns: string;
  /** Stops the daemon as `signal` would (SIGTERM: clean shutdown; SIGKILL: crash). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  docker(args: string[]): string;
  destroy(): Promise<void>;
}

export async function startPrivateEngine(): Promise<PrivateEngine> {
  const id = randomBytes(3).toString('hex');
  const dir = mkdtempSync(`/tmp/irt-e${id}-`);
  const netns = `irt-engine-${id}`;
  const socket = path.join(dir, 'docker.sock');
  const dockerHost = `unix://${socket}`;
  execFileSync('ip', ['netns', 'add', netns]);
  execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  let proc: ChildProcess | undefined;
  const docker = (args: string[]): string => execFileSync('docker', ['-H', dockerHost, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

  const start = async (): Promise<void> => {
    // nsenter switches only the network namespace (`ip netns exec` would also remount /sys and hide
    // the cgroup mounts) and execs dockerd, so signals to this process reach the daemon.
    proc = spawn(
      'nsenter',
      [`--net=/var/run/netns/${netns}`, '/usr/sbin/dockerd', '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'), '-H', dockerHost, '-p', path.join(dir, 'docker.pid')],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        docker(['version', '--format', '{{.Server.Version}}']);
        return;
      } catch {
        if (Date.now() > deadline) throw new Error('private dockerd did not start');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const p = proc;
    if (p === undefined || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
    if (signal === 'SIGKILL') {
      // A crashed dockerd leaves its containerd; the restarted one would reuse it, which is not a crash.
      try {
        execFileSync('pkill', ['-KILL', '-f', path.join(dir, 'exec')]);
      } catch {
        // nothing left
      }
    }
  };

  await start();
  execFileSync('bash', ['-c', `docker save ${TEST_IMAGE} | docker -H ${dockerHost} load -q`]);

  return {
    dockerHost,
    netns,
    stop,
    start,
    docker,
    async destroy() {
      try {
        const ids = docker(['ps', '-aq'])
          .split('\n')
          .filter((s) => s !== '');
        if (ids.length > 0) docker(['rm', '-f', ...ids]);
      } catch {
        // the engine may already be down
      }
      await stop('SIGTERM');
      try {
        execFileSync('pkill', ['-KILL', '-f', path.join(dir, 'exec')]);
      } catch {
        // nothing left
      }
      try {
        execFileSync('bash', ['-c', `grep -o '${dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
      } catch {
        // nothing mounted
      }
      try {
        execFileSync('ip', ['netns', 'del', netns]);
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
