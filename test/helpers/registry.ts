// A real private registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1, a free
// port, htpasswd (bcrypt) auth and TLS with a CA made here by openssl. The host engine trusts the CA
// through /etc/docker/certs.d/HOST:PORT/ca.crt (read per pull, no dockerd restart). Images are pushed
// through the engine API with the auth in the request, so no client config file (~/.docker) is touched.
// Everything it creates (process, temp dir, certs.d entry, local tags) is removed by stop().
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, request } from 'node:https';
import { makePki, pem } from '../security/certs.js';
import { testDocker } from './docker.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';
const CERTS_D = '/etc/docker/certs.d';

export interface RegistryUser { username: string; password: string }

export interface TestRegistry {
  /** HOST:PORT, the registry part of image references. */
  host: string;
  user: RegistryUser;
  /** Tags `local` as HOST/`name` and pushes it with the user's auth; the new local tag is removed again. */
  push(local: string, name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export async function startRegistry(user: RegistryUser = { username: 'iron', password: `pw-${process.pid}-${Date.now()}` }): Promise<TestRegistry> {
  const pki = makePki();
  const dir = mkdtempSync(path.join(tmpdir(), 'iron-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const certsDir = path.join(CERTS_D, host);
  let proc: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc?.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(certsDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    pki.cleanup();
  };
  try {
    // -B: bcrypt, the only hash distribution accepts.
    const htpasswd = execFileSync('htpasswd', ['-Bbn', user.username, user.password], { encoding: 'utf8' });
    writeFileSync(path.join(dir, 'htpasswd'), htpasswd);
    writeFileSync(path.join(dir, 'config.yml'), [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${path.join(dir, 'data')} }, delete: { enabled: true } }`,
      `http: { addr: "${host}", tls: { certificate: ${pki.certFile}, key: ${pki.keyFile} } }`,
      `auth: { htpasswd: { realm: iron-test, path: ${path.join(dir, 'htpasswd')} } }`,
      '',
    ].join('\n'));
    mkdirSync(certsDir, { recursive: true });
    writeFileSync(path.join(certsDir, 'ca.crt'), pem(pki.caFile));
    proc = spawn(REGISTRY_BIN, ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const stderr: string[] = [];
    proc.stderr?.on('data', (c: Buffer) => stderr.push(c.toString()));
    await waitReady(host, pem(pki.caFile), proc, stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  const auth = { username: user.username, password: user.password, serveraddress: host };
  return {
    host, user, stop,
    async push(local, name) {
      const docker = testDocker();
      const [repo, tag] = splitTag(`${host}/${name}`);
      await docker.getImage(local).tag({ repo, tag });
      try {
        const stream = await docker.getImage(`${repo}:${tag}`).push({ authconfig: auth });
        await new Promise<void>((resolve, reject) => {
          docker.modem.followProgress(stream, (err: Error | null, events: Array<{ error?: string }>) => {
            const failed = events.find((e) => e.error !== undefined);
            if (err !== null) reject(err);
            else if (failed !== undefined) reject(new Error(`push ${name}: ${failed.error ?? ''}`));
            else resolve();
          });
        });
      } finally {
        // Only the tag made here goes: the image stays under its own names.
        await docker.getImage(`${repo}:${tag}`).remove({ noprune: true });
      }
    },
  };
}

function splitTag(ref: string): [string, string] {
  const i = ref.lastIndexOf(':');
  return i > ref.lastIndexOf('/') ? [ref.slice(0, i), ref.slice(i + 1)] : [ref, 'latest'];
}

/** The registry is up when /v2/ answers 401 (auth required) over TLS verified with our CA. */
async function waitReady(host: string, ca: string, proc: ChildProcess, stderr: string[]): Promise<void> {
  const agent = new Agent({ ca, keepAlive: false });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited (${proc.exitCode}): ${stderr.join('').slice(-500)}`);
    const status = await new Promise<number>((resolve) => {
      const req = request(`https://${host}/v2/`, { agent, timeout: 1_000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    if (status === 401) return;
    if (Date.now() > deadline) throw new Error(`docker-registry on ${host} not ready (last status ${status}): ${stderr.join('').slice(-500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A "registry" that accepts TCP connections and never answers (a pull through it hangs). */
export async function startSilentRegistry(): Promise<{ host: string; connections(): number; stop(): Promise<void> }> {
  const sockets: Socket[] = [];
  const srv: Server = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    connections: () => sockets.length,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}
