// The dockerode adapter behind ContainerEngine: the only file in the project that imports dockerode.
import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { IronError, toError } from '../errors.js';
import { call, statusOf } from './engine-errors.js';
import { EngineLiveness, type LivenessOptions } from './engine-liveness.js';
import { openStream, readEventActions, readPullProgress, readStatsSamples, readWaitStatus } from './engine-streams.js';
import { safeModem } from './engine-transport.js';
import { imageRefProblem } from '../protocol/image-ref.js';
import type { ContainerCreateBody, ContainerEngine, ContainerState, ContainerSummary, EngineInfo, ImageInfo, NetworkInfo, RegistryAuth, UsageSample, VolumeSummary } from './engine.js';

export interface DockerEngineOptions {
  /** Unix socket path; default /var/run/docker.sock. */
  socketPath?: string;
  /** DOCKER_HOST form: unix:///path, tcp://host:port or http://host:port. Wins over socketPath. */
  dockerHost?: string;
  /**
   * Deadline of every engine call except the long streams (attach, wait, events, pull), which get it
   * for their response headers only and are watched by the liveness probe. Default 60 s.
   */
  callTimeoutMs?: number;
  /** The /_ping probe that watches open long streams. Defaults: every 5 s, 10 s deadline, 3 misses. */
  liveness?: Partial<LivenessOptions>;
}

export const DEFAULT_ENGINE_CALL_TIMEOUT_MS = 60_000;
export const DEFAULT_LIVENESS: Readonly<LivenessOptions> = Object.freeze({ intervalMs: 5_000, timeoutMs: 10_000, failures: 3 });

export function createDockerEngine(opts: DockerEngineOptions = {}): ContainerEngine {
  return new DockerEngine(new Docker({ modem: safeModem(dockerodeOptions(opts)) } as unknown as Docker.DockerOptions), opts.callTimeoutMs ?? DEFAULT_ENGINE_CALL_TIMEOUT_MS, {
    ...DEFAULT_LIVENESS,
    ...opts.liveness,
  });
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

/**
 * Image references go into request paths unencoded (the engine's routes take `name/with/slashes`):
 * one that is not a reference could name another path, so it never reaches the engine.
 */
function checkRef(ref: string): void {
  const problem = imageRefProblem(ref);
  if (problem !== undefined) throw new IronError('ERR_INVALID_ARGUMENT', `invalid image reference: ${problem}`);
}

const labelFilters = (labels: string[]): string => JSON.stringify({ label: labels });

// @types/dockerode lags dockerode 5: these calls accept { abortSignal } at runtime but not in the types.
interface WithSignal {
  abortSignal: AbortSignal;
}
interface LooseDocker {
  ping(opts: WithSignal): Promise<unknown>;
  info(opts: WithSignal): Promise<unknown>;
}
interface LooseModem {
  dial(opts: Record<string, unknown>, cb: (err: unknown, res: unknown) => void): void;
}

class DockerEngine implements ContainerEngine {
  private readonly liveness: EngineLiveness;

  constructor(
    private readonly docker: Docker,
    private readonly deadlineMs: number,
    liveness: LivenessOptions,
  ) {
    this.liveness = new EngineLiveness((signal) => this.ping(signal), liveness);
  }

  /** A GET whose request honours the signal (dockerode's image and network inspect drop it). */
  private dialJson<T>(path: string, statusCodes: Record<number, true | string>, signal: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      (this.docker.modem as unknown as LooseModem).dial({ path, method: 'GET', abortSignal: signal, options: {}, statusCodes }, (err, res) => {
        if (err !== null && err !== undefined) reject(toError(err));
        else resolve(res as T);
      });
    });
  }

  /** A bounded call: the whole exchange within the deadline. */
  private call<T>(op: string, signal: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return call(op, signal, fn, this.deadlineMs);
  }

  /** A long stream (engine-streams.ts): bounded until its headers, then watched by the liveness probe. */
  private stream<T extends Readable>(op: string, signal: AbortSignal, open: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return openStream(op, signal, this.deadlineMs, this.liveness, open);
  }

  async containerEvents(id: string, sinceSec: number, untilSec: number, signal: AbortSignal): Promise<string[]> {
    const stream = await this.stream(
      'events',
      signal,
      async (s) =>
        (await this.docker.getEvents({
          since: sinceSec,
          until: untilSec,
          filters: { type: ['container'], container: [id] },
          abortSignal: s,
        } as Docker.GetEventsOptions)) as unknown as Readable,
    );
    return call('events', signal, () => readEventActions(stream));
  }

  ping(signal: AbortSignal): Promise<void> {
    return this.call('ping', signal, async (s) => {
      await (this.docker as unknown as LooseDocker).ping({ abortSignal: s });
    });
  }

  info(signal: AbortSignal): Promise<EngineInfo> {
    return this.call('info', signal, async (s) => {
      const i = (await (this.docker as unknown as LooseDocker).info({ abortSignal: s })) as {
        Driver?: string;
        DriverStatus?: Array<[string, string]>;
        ServerVersion?: string;
      };
      const backing = (i.DriverStatus ?? []).find(([k]) => k === 'Backing Filesystem');
      return { storageDriver: i.Driver ?? '', backingFs: backing?.[1] ?? '', serverVersion: i.ServerVersion ?? '' };
    });
  }

  async imageInspect(ref: string, signal: AbortSignal): Promise<ImageInfo | undefined> {
    checkRef(ref);
    try {
      const i = await this.call('image inspect', signal, (s) => this.dialJson<Docker.ImageInspectInfo>(`/images/${ref}/json`, { 200: true, 404: 'no such image', 500: 'server error' }, s));
      return {
        id: i.Id,
        size: i.Size,
        volumes: Object.keys(i.Config?.Volumes ?? {}),
        entrypoint: asArgv(i.Config?.Entrypoint),
        cmd: asArgv(i.Config?.Cmd),
      };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async imagePull(ref: string, auth: RegistryAuth | undefined, signal: AbortSignal): Promise<void> {
    checkRef(ref);
    const stream = await this.stream('image pull', signal, async (s) => {
      const opts: Record<string, unknown> = { abortSignal: s };
      if (auth !== undefined) opts['authconfig'] = auth;
      return (await this.docker.pull(ref, opts)) as Readable;
    });
    await call('image pull', signal, () => readPullProgress(stream));
  }

  async imageRemove(ref: string, signal: AbortSignal): Promise<void> {
    checkRef(ref);
    await this.call('image remove', signal, (s) => this.docker.getImage(ref).remove({ abortSignal: s }));
  }

  containerCreate(body: ContainerCreateBody, signal: AbortSignal): Promise<string> {
    return this.call('container create', signal, async (s) => {
      // dockerode copies the options of a create into the URL query as well as the body: the whole
      // body, Env and its secrets included, would land in a URL (engine debug logs; a 431 when large).
      // `_query`/`_body` are docker-modem's split: only the name goes into the query.
      const { name, ...rest } = body;
      const c = await this.docker.createContainer({
        _query: name === undefined ? {} : { name },
        _body: rest,
        abortSignal: s,
      } as unknown as Docker.ContainerCreateOptions);
      return c.id;
    });
  }

  containerAttach(id: string, signal: AbortSignal): Promise<Readable> {
    return this.stream('container attach', signal, async (s) => {
      const stream = await this.docker.getContainer(id).attach({ stream: true, stdout: true, stderr: true, logs: false, abortSignal: s });
      return stream as unknown as Readable;
    });
  }

  async containerPutArchive(id: string, path: string, tar: Buffer | Readable, signal: AbortSignal): Promise<void> {
    await this.call('container put archive', signal, (s) => this.docker.getContainer(id).putArchive(tar, { path, abortSignal: s }));
  }

  containerGetArchive(id: string, path: string, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
    return this.call('container get archive', signal, async (s) => {
      const stream = await this.docker.getContainer(id).getArchive({ path, abortSignal: s });
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
    await this.call('container start', signal, (s) => this.docker.getContainer(id).start({ abortSignal: s }));
  }

  /**
   * The engine answers 200 at once and the body when the container stops. If the engine dies in
   * between, dockerode's wait never settles (the cut response emits no event it listens to), so the
   * response is read here as a stream and a connection closed before its end is the engine's loss.
   */
  async containerWait(id: string, signal: AbortSignal): Promise<number> {
    const body = await this.stream(
      'container wait',
      signal,
      (s) =>
        new Promise<Readable>((resolve, reject) => {
          const modem = this.docker.modem as unknown as LooseModem;
          modem.dial(
            {
              path: `/containers/${encodeURIComponent(id)}/wait?`,
              method: 'POST',
              isStream: true,
              abortSignal: s,
              options: {},
              statusCodes: { 200: true, 400: 'bad parameter', 404: 'no such container', 500: 'server error' },
            },
            (err, res) => {
              if (err !== null && err !== undefined) reject(toError(err));
              else resolve(res as Readable);
            },
          );
        }),
    );
    return call('container wait', signal, () => readWaitStatus(body, signal));
  }

  async containerStats(id: string, onSample: (s: UsageSample) => void, signal: AbortSignal): Promise<void> {
    const body = await this.stream(
      'container stats',
      signal,
      (s) =>
        new Promise<Readable>((resolve, reject) => {
          (this.docker.modem as unknown as LooseModem).dial(
            {
              path: `/containers/${encodeURIComponent(id)}/stats?stream=1`,
              method: 'GET',
              isStream: true,
              abortSignal: s,
              options: {},
              statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
            },
            (err, res) => {
              if (err !== null && err !== undefined) reject(toError(err));
              else resolve(res as Readable);
            },
          );
        }),
    );
    await readStatsSamples(body, onSample);
  }

  containerInspect(id: string, signal: AbortSignal): Promise<ContainerState> {
    return this.call('container inspect', signal, async (s) => {
      const i = await this.docker.getContainer(id).inspect({ abortSignal: s });
      return {
        status: i.State.Status,
        running: i.State.Running,
        oomKilled: i.State.OOMKilled,
        exitCode: i.State.ExitCode,
        error: i.State.Error,
        imageId: i.Image,
      };
    });
  }

  async containerKill(id: string, sig: 'SIGTERM' | 'SIGKILL', signal: AbortSignal): Promise<void> {
    await this.call('container kill', signal, async (s) => {
      try {
        await this.docker.getContainer(id).kill({ signal: sig, abortSignal: s });
      } catch (err) {
        // 409: not running (already exited); 404: already removed. Both mean "nothing left to signal".
        const st = statusOf(err);
        if (st !== 409 && st !== 404) throw err;
      }
    });
  }

  async containerRemove(id: string, signal: AbortSignal): Promise<void> {
    await this.call('container remove', signal, async (s) => {
      try {
        await this.docker.getContainer(id).remove({ force: true, v: true, abortSignal: s });
      } catch (err) {
        const st = statusOf(err);
        // 404: gone already; 409 "removal already in progress": someone else finishes it.
        if (st === 404 || (st === 409 && /already in progress/i.test(String((err as Error).message)))) return;
        throw err;
      }
    });
  }

  containerList(labels: string[], signal: AbortSignal): Promise<ContainerSummary[]> {
    return this.call('container list', signal, async (s) => {
      const list = await this.docker.listContainers({ all: true, filters: labelFilters(labels), abortSignal: s });
      return list.map((c) => ({ id: c.Id, labels: c.Labels, state: c.State, imageId: c.ImageID }));
    });
  }

  async volumeCreate(name: string, labels: Record<string, string>, signal: AbortSignal): Promise<void> {
    await this.call('volume create', signal, (s) => this.docker.createVolume({ Name: name, Driver: 'local', Labels: labels, abortSignal: s }));
  }

  async volumeRemove(name: string, signal: AbortSignal): Promise<void> {
    await this.call('volume remove', signal, async (s) => {
      try {
        await this.docker.getVolume(name).remove({ abortSignal: s });
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    });
  }

  volumeList(labels: string[], signal: AbortSignal): Promise<VolumeSummary[]> {
    return this.call('volume list', signal, async (s) => {
      const r = await this.docker.listVolumes({ filters: labelFilters(labels), abortSignal: s });
      return (r.Volumes ?? []).map((v) => ({ name: v.Name, labels: (v.Labels as Record<string, string> | null) ?? {} }));
    });
  }

  async networkInspect(name: string, signal: AbortSignal): Promise<NetworkInfo | undefined> {
    try {
      const n = await this.call('network inspect', signal, (s) => this.dialJson<RawNetwork>(`/networks/${encodeURIComponent(name)}`, { 200: true, 404: 'no such network', 500: 'server error' }, s));
      return toNetworkInfo(n);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  networkCreate(name: string, bridgeName: string, labels: Record<string, string>, signal: AbortSignal): Promise<NetworkInfo> {
    return this.call('network create', signal, async (s) => {
      const n = await this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: labels,
        Options: { 'com.docker.network.bridge.name': bridgeName },
        abortSignal: s,
      });
      return { id: n.id, name, labels, bridgeName };
    });
  }

  async networkRemove(name: string, signal: AbortSignal): Promise<void> {
    await this.call('network remove', signal, async (s) => {
      try {
        await this.docker.getNetwork(name).remove({ abortSignal: s });
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    });
  }

  networkList(labels: string[], signal: AbortSignal): Promise<NetworkInfo[]> {
    return this.call('network list', signal, async (s) => {
      const list = (await this.docker.listNetworks({ filters: labelFilters(labels), abortSignal: s })) as RawNetwork[];
      return list.map(toNetworkInfo);
    });
  }
}

interface RawNetwork {
  Id: string;
  Name: string;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
}

function toNetworkInfo(n: RawNetwork): NetworkInfo {
  return { id: n.Id, name: n.Name, labels: n.Labels ?? {}, bridgeName: n.Options?.['com.docker.network.bridge.name'] };
}

/** ENTRYPOINT/CMD as the engine reports them: an argv, a shell-form string, or null. */
function asArgv(v: unknown): string[] | null {
  if (typeof v === 'string') return v === '' ? null : ['/bin/sh', '-c', v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.length === 0 ? null : v;
  return null;
}
