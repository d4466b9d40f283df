// Image presence and the image cache. A local image is used as is; otherwise it is pulled with the
// task's registry auth under a pull timeout (one pull shared by everyone who waits for the same image
// with the same credentials). A present image that was pulled with credentials is private: another
// project uses it only after its own credentials pulled it again (image-provenance.ts). Eviction is
// least-recently-used over the images this sandbox pulled itself (it can pull them again): never an
// image that was already on the engine (the operator's preloaded or locally built images, which may be
// impossible to get back offline, or other runners' on a shared engine), and never one a running task
// or any container still uses.
import type { Logger } from 'pino';
import { IronError, abortError } from '../errors.js';
import { imageRefProblem } from '../protocol/image-ref.js';
import type { ContainerEngine, RegistryAuth } from './engine.js';
import { engineMessageOf, statusOf } from './engine-errors.js';
import { scopeKey, type ImageProvenance } from './image-provenance.js';
import type { SandboxNotices } from './types.js';

export type EnsureResult = { ok: true; imageId: string; volumes: string[]; entrypoint: string[] | null; cmd: string[] | null } | { ok: false; msg: string };

interface SharedPull {
  ctl: AbortController;
  waiters: number;
  done: Promise<string | undefined>;
}

interface Entry {
  ref: string;
  id: string;
  size: number;
  lastUsed: number;
  inUse: number;
}

/** Docker's reference grammar (src/protocol/image-ref.ts, shared with iron-api). */
export function isValidImageRef(ref: string): boolean {
  return imageRefProblem(ref) === undefined;
}

export class ImageCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pulls = new Map<string, SharedPull>();
  private clock = 0;

  constructor(
    private readonly engine: ContainerEngine,
    private readonly log: Logger,
    private readonly opts: { pullTimeoutMs: number; cacheBytes: number | undefined },
    private readonly provenance: ImageProvenance,
    private readonly notices: SandboxNotices = {},
  ) {}

  /**
   * Makes the image present for `scope` (the project; '' for `iron-runner exec`). Image problems are
   * job outcomes (`ok: false`); engine trouble throws. An image present because it was pulled with
   * credentials is used for another scope only after that scope's own credentials pulled it again.
   */
  async ensure(ref: string, auth: RegistryAuth | undefined, signal: AbortSignal, scope = ''): Promise<EnsureResult> {
    if (!isValidImageRef(ref)) return { ok: false, msg: `invalid image: ${JSON.stringify(ref.slice(0, 200))}` };
    const key = scopeKey(scope, auth);
    let info = await this.engine.imageInspect(ref, signal);
    let pulled = false;
    if (info === undefined) {
      pulled = true;
      const failed = await this.pullOnce(ref, auth, key, signal);
      if (failed !== undefined) return { ok: false, msg: `image pull failed: ${failed}` };
      info = await this.engine.imageInspect(ref, signal);
      if (info === undefined) return { ok: false, msg: `image pull failed: ${ref} not present after pull` };
      // Sent credentials make it private: whether the registry needed them is not ours to guess.
      if (auth !== undefined) await this.provenance.recordPrivate(ref, info.id, key);
    } else if (this.provenance.isPrivate(ref, info.id) && !this.provenance.isVerified(info.id, key)) {
      const checkRef = this.provenance.checkRef(ref, info.id);
      const failed = await this.pullOnce(checkRef, auth, key, signal);
      if (failed !== undefined) {
        this.log.warn({ image: ref, scope }, "cached private image refused: this project's registry credentials did not pull it");
        return { ok: false, msg: `image ${ref} came from a private registry and this project's credentials could not pull it: ${failed}` };
      }
      // The pull may have moved the tag to a newer image; that one is what this task runs.
      info = await this.engine.imageInspect(ref, signal);
      if (info === undefined) return { ok: false, msg: `image pull failed: ${ref} not present after pull` };
      this.provenance.verify(info.id, key);
    }
    // Only what we pulled is ours to evict (see the top of this file).
    const known = this.entries.get(ref);
    const found = { ok: true as const, imageId: info.id, volumes: info.volumes ?? [], entrypoint: info.entrypoint ?? null, cmd: info.cmd ?? null };
    if (known === undefined && !pulled) return found;
    const e = known ?? { ref, id: info.id, size: info.size, lastUsed: 0, inUse: 0 };
    e.id = info.id;
    e.size = info.size;
    e.lastUsed = ++this.clock;
    this.entries.set(ref, e);
    return found;
  }

  /**
   * One pull per (reference, scope) at a time: tasks and a warm-up that need the same image with the
   * same credentials share it, and it is aborted when the last of them gave up (cancel, drain).
   * Returns the failure reason, or undefined when the pull succeeded.
   */
  private pullOnce(ref: string, auth: RegistryAuth | undefined, key: string, signal: AbortSignal): Promise<string | undefined> {
    if (signal.aborted) return Promise.reject(abortError(signal));
    const id = `${ref}\0${key}`;
    let shared = this.pulls.get(id);
    if (shared === undefined || shared.ctl.signal.aborted) {
      const ctl = new AbortController();
      const created: SharedPull = { ctl, waiters: 0, done: this.pull(ref, auth, ctl.signal).finally(() => this.pulls.delete(id)) };
      this.pulls.set(id, created);
      shared = created;
    }
    const s = shared;
    s.waiters++;
    return new Promise<string | undefined>((resolve, reject) => {
      const onAbort = (): void => {
        if (--s.waiters === 0) s.ctl.abort(abortError(signal));
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      void s.done.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private async pull(ref: string, auth: RegistryAuth | undefined, stop: AbortSignal): Promise<string | undefined> {
    const started = Date.now();
    const timeout = AbortSignal.timeout(this.opts.pullTimeoutMs);
    try {
      await this.engine.imagePull(ref, auth, AbortSignal.any([stop, timeout]));
    } catch (err) {
      if (stop.aborted) throw err;
      if (timeout.aborted) return `timed out after ${Math.round(this.opts.pullTimeoutMs / 1000)} s`;
      if (statusOf(err) === undefined) throw err;
      return engineMessageOf(err).slice(0, 300);
    }
    this.notices.imagePulled?.({ image: ref, ms: Date.now() - started });
    return undefined;
  }

  /** Marks an image in use by a task; the returned function releases it. */
  acquire(ref: string): () => void {
    const e = this.entries.get(ref);
    if (e === undefined) return () => undefined;
    e.inUse++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      e.inUse--;
      e.lastUsed = ++this.clock;
    };
  }

  /** Removes least-recently-used idle images until the tracked total fits the limit. */
  async evict(signal: AbortSignal): Promise<string[]> {
    const limit = this.opts.cacheBytes;
    if (limit === undefined) return [];
    const removed: string[] = [];
    // Several refs may name one image id; count each id once.
    const total = (): number => [...new Map([...this.entries.values()].map((e) => [e.id, e.size])).values()].reduce((a, b) => a + b, 0);
    const idle = [...this.entries.values()].filter((e) => e.inUse === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const e of idle) {
      if (total() <= limit) break;
      if (this.busyId(e.id)) continue;
      try {
        await this.engine.imageRemove(e.ref, signal);
        this.entries.delete(e.ref);
        removed.push(e.ref);
      } catch (err) {
        // 409: a container (perhaps not ours) still uses it. Keep it and try the next one.
        if (statusOf(err) === 409) continue;
        if (statusOf(err) === 404) {
          this.entries.delete(e.ref);
          continue;
        }
        throw err instanceof IronError ? err : new IronError('ERR_ENGINE_FAILED', 'image eviction failed', { cause: err });
      }
    }
    if (removed.length > 0) this.notices.imagesEvicted?.({ removed, remainingBytes: total(), limitBytes: limit });
    return removed;
  }

  private busyId(id: string): boolean {
    return [...this.entries.values()].some((x) => x.id === id && x.inUse > 0);
  }

  /** Images this sandbox pulled and may evict, most recently used first (for logs and tests). */
  snapshot(): Array<{ ref: string; size: number; inUse: number }> {
    return [...this.entries.values()].sort((a, b) => b.lastUsed - a.lastUsed).map(({ ref, size, inUse }) => ({ ref, size, inUse }));
  }
}
