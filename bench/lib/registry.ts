// A real private registry on loopback for the pre-pull benchmark and the registry tests
// (test/helpers/registry.ts re-exports this): Debian's docker-registry (distribution 2.8) on a free
// 127.0.0.1 port with htpasswd (bcrypt) auth and TLS from a CA made here by openssl. The host engine
// is given the CA through /etc/docker/certs.d/HOST:PORT/ca.crt (read per pull, no dockerd restart).
// Images are pushed and pulled through the Engine API with the auth in X-Registry-Auth, so no client
// config file (~/.docker) is touched. stop() removes the process, temp dir and certs.d entry.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Agent, request } from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SOCKET } from './raw-engine.js';
import { makeTestHost } from './test-host.js';
import { freePort } from './ports.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';
const CERTS_D = '/etc/docker/certs.d';

export interface RegistryUser {
  username: string;
  password: string;
}
export interface RegistryAuthConfig {
  username: string;
  password: string;
  serveraddress: string;
}

export interface TestRegistry {
  /** HOST:PORT, the registry part of image references. */
  host: string;
  /** The certs.d file through which the engine trusts the registry's CA (tests remove it to prove it is used). */
  caFile: string;
  user: RegistryUser;
  auth: RegistryAuthConfig;
  /** Tags `local` as HOST/`name`, pushes it with the user's auth, and removes that new local tag again. */
  push(local: string, name: string): Promise<void>;
  stop(): Promise<void>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** A CA and a server certificate for 127.0.0.1 (and `address`) signed by it, in `dir`. */
function makeCerts(dir: string, address: string): { ca: string; cert: string; key: string } {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=iron-registry-test CA', '-keyout', 'ca.key', '-out', 'ca.pem'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr'], dir);
  const extra = address === '127.0.0.1' ? '' : `,IP:${address}`;
  writeFileSync(path.join(dir, 'ext.cnf'), `subjectAltName=IP:127.0.0.1,DNS:localhost${extra}\nextendedKeyUsage=serverAuth\n`);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'server.pem'], dir);
  return { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key') };
}

export interface RegistryOptions {
  user?: RegistryUser;
  /**
   * Run the registry in a network namespace of its own, reached over a veth pair on a private /24,
   * instead of on 127.0.0.1. dockerd treats 127.0.0.0/8 as an insecure registry (TLS not verified);
   * an address outside it makes the engine verify the certificate against certs.d. The namespace is
   * the test's own host (test-host.ts), so no traffic goes to any address this machine does not own.
   */
  ownHost?: boolean;
}

export async function startRegistry(o: RegistryOptions = {}): Promise<TestRegistry> {
  if (!existsSync(REGISTRY_BIN)) throw new Error(`${REGISTRY_BIN} missing: install Debian's docker-registry and apache2-utils (scripts/dev engine does)`);
  const user = o.user ?? { username: 'iron', password: `pw-${process.pid}-${Date.now()}` };
  const testHost = o.ownHost === true ? makeTestHost({ prefix: 'irg', net: '10.215' }) : undefined;
  const address = testHost?.address ?? '127.0.0.1';
  const dir = mkdtempSync(path.join(tmpdir(), 'iron-registry-'));
  // The test host's namespace is ours alone: any port is free there.
  const port = testHost !== undefined ? 5000 : await freePort(address);
  const host = `${address}:${port}`;
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
    testHost?.remove();
  };
  try {
    const certs = makeCerts(dir, address);
    // -B: bcrypt, the only hash distribution accepts.
    writeFileSync(path.join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', user.username, user.password], { encoding: 'utf8' }));
    writeFileSync(
      path.join(dir, 'config.yml'),
      [
        'version: 0.1',
        'log: { level: warn }',
        `storage: { filesystem: { rootdirectory: ${path.join(dir, 'data')} }, delete: { enabled: true } }`,
        `http: { addr: "${host}", tls: { certificate: ${certs.cert}, key: ${certs.key} } }`,
        `auth: { htpasswd: { realm: iron-test, path: ${path.join(dir, 'htpasswd')} } }`,
        '',
      ].join('\n'),
    );
    const ca = readFileSync(certs.ca, 'utf8');
    mkdirSync(certsDir, { recursive: true });
    writeFileSync(path.join(certsDir, 'ca.crt'), ca);
    const [bin, ...args] = testHost?.wrap([REGISTRY_BIN, 'serve', path.join(dir, 'config.yml')]) ?? [REGISTRY_BIN, 'serve', path.join(dir, 'config.yml')];
    const p = spawn(bin ?? REGISTRY_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    proc = p;
    const stderr: string[] = [];
    p.stderr?.on('data', (c: Buffer) => stderr.push(c.toString()));
    await waitReady(host, ca, p, stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  const auth = { username: user.username, password: user.password, serveraddress: host };
  return {
    host,
    user,
    auth,
    stop,
    caFile: path.join(certsDir, 'ca.crt'),
    async push(local, name) {
      const [repo, tag] = splitTag(`${host}/${name}`);
      await engineCall('POST', `/images/${local}/tag?repo=${encodeURIComponent(repo)}&tag=${encodeURIComponent(tag)}`);
      try {
        await engineCall('POST', `/images/${repo}/push?tag=${encodeURIComponent(tag)}`, auth);
      } finally {
        // Only the tag made here goes: the image stays under its own names.
        await engineCall('DELETE', `/images/${repo}:${tag}?noprune=1`);
      }
    },
  };
}

/** `docker pull` as the CLI does it: POST /images/create with X-Registry-Auth, read to the end. */
export async function enginePull(ref: string, auth?: RegistryAuthConfig): Promise<void> {
  const [repo, tag] = splitTag(ref);
  await engineCall('POST', `/images/create?fromImage=${encodeURIComponent(repo)}&tag=${encodeURIComponent(tag)}`, auth);
}

/** An Engine API call whose (possibly streamed NDJSON) answer is read to the end; an {"error"} line fails it. */
export function engineCall(method: string, apiPath: string, auth?: RegistryAuthConfig): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    // URL-safe base64 with padding (Go's base64.URLEncoding, as the docker CLI sends it).
    if (auth !== undefined) headers['x-registry-auth'] = Buffer.from(JSON.stringify(auth)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    const req = httpRequest({ socketPath: SOCKET, method, path: `/v1.41${apiPath}`, headers, signal: AbortSignal.timeout(300_000) }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        const status = res.statusCode ?? 0;
        const streamed = text.split('\n').find((l) => l.startsWith('{"error'));
        if (status >= 300 || streamed !== undefined) reject(new Error(`engine ${method} ${apiPath}: HTTP ${status} ${(streamed ?? text).slice(0, 300)}`));
        else resolve(text);
      });
    });
    req.on('error', reject);
    req.end();
  });
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
