// The dockerode adapter behind ContainerEngine: the only file in the project that imports dockerode.
import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { IronError, abortError, toError } from '../errors.js';
import { call, engineError, statusOf } from './engine-errors.js';
import type {
  ContainerCreateBody, ContainerEngine, ContainerState, ContainerSummary, EngineInfo, ImageInfo, NetworkInfo,
  RegistryAuth, VolumeSummary,
} from './engine.js';

export interface DockerEngineOptions {
  /** Unix socket path; default /var/run/docker.sock. */
  socketPath?: string;
  /** DOCKER_HOST form: unix:///path, tcp://host:port or http://host:port. Wins over socketPath. */
  dockerHost?: string;
}

export function createDockerEngine(opts: DockerEngineOptions = {}): ContainerEngine {
  return new DockerEngine(new Docker(dockerodeOptions(opts)));
}

function dockerodeOptions(opts: DockerEngineOptions): Docker.DockerOptions {
  const host = opts.dockerHost?.trim();
  if (host !== undefined && host !== '') {
    if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
    let url: URL;
    try {
      url = new URL(host.replace(/^tcp:\/\//, 'http://'));
    } catch (err) {
      throw new IronError('ERR_INVALID_ARGUMENT', 'DOCKER_HOST must be unix:///path, tcp://host:port or http(s)://host:port', { cause: err });
    }
    const protocol = url.protocol === 'https:' ? 'https' : 'http';
    return { host: url.hostname, port: url.port === '' ? (protocol === 'https' ? 2376 : 2375) : Number(url.port), protocol };
  }
  return { socketPath: opts.socketPath ?? '/var/run/docker.sock' };
}

const labelFilters = (labels: string[]): string => JSON.stringify({ label: labels });

// @types/dockerode lags dockerode 5: these calls accept { abortSignal } at runtime but not in the types.
interface WithSignal { abortSignal: AbortSignal }
interface LooseDocker {
  ping(opts: WithSignal): Promise<unknown>;
  info(opts: WithSignal): Promise<unknown>;
}
interface LooseInspect<T> { inspect(opts: WithSignal): Promise<T> }
interface LooseModem { dial(opts: Record<string, unknown>, cb: (err: unknown, res: unknown) => void): void }

class DockerEngine implements ContainerEngine {
  constructor(private readonly docker: Docker) {}

  containerEvents(id: string, sinceSec: number, untilSec: number, signal: AbortSignal): Promise<string[]> {
    return call('events', signal, async () => {
      const stream = await this.docker.getEvents({
        since: sinceSec, until: untilSec, filters: { type: ['container'], container: [id] }, abortSignal: signal,
      } as Docker.GetEventsOptions);
      const chunks: Buffer[] = [];
      for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
      return Buffer.concat(chunks).toString().split('\n').filter((l) => l.trim() !== '')
        .map((l) => (JSON.parse(l) as { Action?: string }).Action ?? '');
    });
  }

  ping(signal: AbortSignal): Promise<void> {
    return call('ping', signal, async () => {
      await (this.docker as unknown as LooseDocker).ping({ abortSignal: signal });
    });
  }

  info(signal: AbortSignal): Promise<EngineInfo> {
    return call('info', signal, async () => {
      const i = (await (this.docker as unknown as LooseDocker).info({ abortSignal: signal })) as {
        Driver?: string; DriverStatus?: Array<[string, string]>; ServerVersion?: string; SwapLimit?: boolean;
      };
      const backing = (i.DriverStatus ?? []).find(([k]) => k === 'Backing Filesystem');
      return { storageDriver: i.Driver ?? '', backingFs: backing?.[1] ?? '', serverVersion: i.ServerVersion ?? '', swapLimit: i.SwapLimit === true };
    });
  }

  async imageInspect(ref: string, signal: AbortSignal): Promise<ImageInfo | undefined> {
    try {
      const i = await call('image inspect', signal, () => (this.docker.getImage(ref) as unknown as LooseInspect<Docker.ImageInspectInfo>).inspect({ abortSignal: signal }));
      return { id: i.Id, size: i.Size, entrypoint: asArgv(i.Config.Entrypoint), cmd: asArgv(i.Config.Cmd) };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  imagePull(ref: string, auth: RegistryAuth | undefined, signal: AbortSignal): Promise<void> {
    return call('image pull', signal, async () => {
      const opts: Record<string, unknown> = { abortSignal: signal };
      if (auth !== undefined) opts['authconfig'] = auth;
      const stream = (await this.docker.pull(ref, opts)) as Readable;
      await readPullProgress(stream);
    });
  }

  async imageRemove(ref: string, signal: AbortSignal): Promise<void> {
    await call('image remove', signal, () => this.docker.getImage(ref).remove({ abortSignal: signal }));
  }

  containerCreate(body: ContainerCreateBody, signal: AbortSignal): Promise<string> {
    return call('container create', signal, async () => {
      const c = await this.docker.createContainer({ ...body, abortSignal: signal });
      return c.id;
    });
  }

  containerAttach(id: string, signal: AbortSignal): Promise<Readable> {
    return call('container attach', signal, async () => {
      const s = await this.docker.getContainer(id).attach({ stream: true, stdout: true, stderr: true, logs: false, abortSignal: signal });
      return s as unknown as Readable;
    });
  }

  async containerPutArchive(id: string, path: string, tar: Buffer | Readable, signal: AbortSignal): Promise<void> {
    await call('container put archive', signal, () => this.docker.getContainer(id).putArchive(tar, { path, abortSignal: signal }));
  }

  containerGetArchive(id: string, path: string, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
    return call('container get archive', signal, async () => {
      const stream = await this.docker.getContainer(id).getArchive({ path, abortSignal: signal });
      const parts: Buffer[] = [];
      let size = 0;
      for await (const c of stream as AsyncIterable<Buffer>) {
        size += c.length;
        if (size > maxBytes) {
          (stream as { destroy?: () => void }).destroy?.();
          throw new IronError('ERR_ENGINE_FAILED', `archive of ${path} exceeds ${maxBytes} bytes`, { retryable: false });
        }
        parts.push(c);
      }
      return Buffer.concat(parts);
    });
  }

  async containerStart(id: string, signal: AbortSignal): Promise<void> {
    await call('container start', signal, () => this.docker.getContainer(id).start({ abortSignal: signal }));
  }

  /**
   * The engine answers 200 at once and the body when the container stops. If the engine dies in
   * between, dockerode's wait never settles (the cut response emits no event it listens to), so the
   * response is read here as a stream and a connection closed before its end is the engine's loss.
   */
  containerWait(id: string, signal: AbortSignal): Promise<number> {
    return call('container wait', signal, () => new Promise<number>((resolve, reject) => {
      const modem = this.docker.modem as unknown as LooseModem;
      modem.dial({
        path: `/containers/${encodeURIComponent(id)}/wait?`, method: 'POST', isStream: true, abortSignal: signal, options: {},
        statusCodes: { 200: true, 400: 'bad parameter', 404: 'no such container', 500: 'server error' },
      }, (err, res) => {
        if (err !== null && err !== undefined) {
          reject(toError(err));
          return;
        }
        const body = res as Readable;
        const parts: Buffer[] = [];
        let ended = false;
        body.on('data', (c: Buffer) => parts.push(c));
        body.on('end', () => {
          ended = true;
          try {
            const r = JSON.parse(Buffer.concat(parts).toString('utf8')) as { StatusCode?: number };
            resolve(typeof r.StatusCode === 'number' ? r.StatusCode : -1);
          } catch (parseErr) {
            reject(toError(parseErr));
          }
        });
        body.on('error', reject);
        body.on('close', () => {
          if (ended) return;
          reject(signal.aborted ? abortError(signal) : Object.assign(new Error('the engine closed the connection before the container stopped'), { code: 'ECONNRESET' }));
        });
      });
    }));
  }

  containerInspect(id: string, signal: AbortSignal): Promise<ContainerState> {
    return call('container inspect', signal, async () => {
      const i = await this.docker.getContainer(id).inspect({ abortSignal: signal });
      return {
        status: i.State.Status, running: i.State.Running, oomKilled: i.State.OOMKilled, exitCode: i.State.ExitCode,
        error: i.State.Error, imageId: i.Image,
      };
    });
  }

  async containerKill(id: string, sig: 'SIGTERM' | 'SIGKILL', signal: AbortSignal): Promise<void> {
    try {
      await this.docker.getContainer(id).kill({ signal: sig, abortSignal: signal });
    } catch (err) {
      // 409: not running (already exited); 404: already removed. Both mean "nothing left to signal".
      const s = statusOf(err);
      if (s === 409 || s === 404) return;
      throw engineError('container kill', err, signal);
    }
  }

  async containerRemove(id: string, signal: AbortSignal): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true, abortSignal: signal });
    } catch (err) {
      const s = statusOf(err);
      // 404: gone already; 409 "removal already in progress": someone else finishes it.
      if (s === 404 || (s === 409 && /already in progress/i.test(String((err as Error).message)))) return;
      throw engineError('container remove', err, signal);
    }
  }

  containerList(labels: string[], signal: AbortSignal): Promise<ContainerSummary[]> {
    return call('container list', signal, async () => {
      const list = await this.docker.listContainers({ all: true, filters: labelFilters(labels), abortSignal: signal });
      return list.map((c) => ({ id: c.Id, labels: c.Labels, state: c.State, imageId: c.ImageID }));
    });
  }

  containerCommit(id: string, repo: string, tag: string, labels: Record<string, string>, signal: AbortSignal): Promise<string> {
    return call('container commit', signal, async () => {
      const r = (await this.docker.getContainer(id).commit({ repo, tag, changes: Object.entries(labels).map(([k, v]) => `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`), abortSignal: signal })) as { Id?: string };
      return r.Id ?? '';
    });
  }

  async volumeCreate(name: string, labels: Record<string, string>, signal: AbortSignal): Promise<void> {
    await call('volume create', signal, () => this.docker.createVolume({ Name: name, Driver: 'local', Labels: labels, abortSignal: signal }));
  }

  async volumeRemove(name: string, signal: AbortSignal): Promise<void> {
    try {
      await this.docker.getVolume(name).remove({ abortSignal: signal });
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw engineError('volume remove', err, signal);
    }
  }

  volumeList(labels: string[], signal: AbortSignal): Promise<VolumeSummary[]> {
    return call('volume list', signal, async () => {
      const r = await this.docker.listVolumes({ filters: labelFilters(labels), abortSignal: signal });
      return (r.Volumes ?? []).map((v) => ({ name: v.Name, labels: (v.Labels as Record<string, string> | null) ?? {} }));
    });
  }

  async networkInspect(name: string, signal: AbortSignal): Promise<NetworkInfo | undefined> {
    try {
      const n = await call('network inspect', signal, () => (this.docker.getNetwork(name) as unknown as LooseInspect<RawNetwork>).inspect({ abortSignal: signal }));
      return toNetworkInfo(n);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  networkCreate(name: string, bridgeName: string, labels: Record<string, string>, signal: AbortSignal): Promise<NetworkInfo> {
    return call('network create', signal, async () => {
      const n = await this.docker.createNetwork({
        Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: labels,
        Options: { 'com.docker.network.bridge.name': bridgeName },
        abortSignal: signal,
      });
      return { id: n.id, name, labels, bridgeName };
    });
  }

  async networkRemove(name: string, signal: AbortSignal): Promise<void> {
    try {
      await this.docker.getNetwork(name).remove({ abortSignal: signal });
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw engineError('network remove', err, signal);
    }
  }

  networkList(labels: string[], signal: AbortSignal): Promise<NetworkInfo[]> {
    return call('network list', signal, async () => {
      const list = (await this.docker.listNetworks({ filters: labelFilters(labels), abortSignal: signal })) as RawNetwork[];
      return list.map(toNetworkInfo);
    });
  }
}

interface RawNetwork {
  Id: string; Name: string; Labels?: Record<string, string> | null; Options?: Record<string, string> | null;
}

function toNetworkInfo(n: RawNetwork): NetworkInfo {
  return { id: n.Id, name: n.Name, labels: n.Labels ?? {}, bridgeName: n.Options?.['com.docker.network.bridge.name'] };
}

/** Reads the pull's NDJSON progress to the end; a registry error arrives as {"error": ...} mid-stream. */
async function readPullProgress(stream: Readable): Promise<void> {
  let rest = '';
  let failure: string | undefined;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    rest += chunk.toString('utf8');
    let nl = rest.indexOf('\n');
    while (nl >= 0) {
      failure ??= pullError(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
      nl = rest.indexOf('\n');
    }
  }
  failure ??= pullError(rest);
  if (failure !== undefined) {
    throw Object.assign(new Error(failure), { statusCode: 500, json: { message: failure } });
  }
}

function pullError(line: string): string | undefined {
  if (line.trim() === '') return undefined;
  try {
    const m = JSON.parse(line) as { error?: unknown; errorDetail?: { message?: unknown } };
    if (typeof m.error === 'string') return m.error;
    if (typeof m.errorDetail?.message === 'string') return m.errorDetail.message;
  } catch {
    // A progress line we cannot parse is not a failure of the pull.
  }
  return undefined;
}

/** ENTRYPOINT/CMD as the engine reports them: an argv, a shell-form string, or null. */
function asArgv(v: unknown): string[] | null {
  if (typeof v === 'string') return v === '' ? null : ['/bin/sh', '-c', v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.length === 0 ? null : v;
  return null;
}
