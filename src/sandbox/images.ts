// Image presence and the image cache. A local image is used as is; otherwise it is pulled with the
// task's registry auth under a pull timeout. Eviction is least-recently-used over the images this
// sandbox has run (never images it did not use, which may belong to the operator or other runners
// on a shared engine), and never removes an image a running task or any container still uses.
import type { Logger } from 'pino';
import { IronError } from '../errors.js';
import { formatSize } from '../config/units.js';
import { imageRefProblem } from '../protocol/image-ref.js';
import type { ContainerEngine, RegistryAuth } from './engine.js';
import { engineMessageOf, statusOf } from './engine-errors.js';

export type EnsureResult = { ok: true; imageId: string; volumes: string[] } | { ok: false; msg: string };

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
  private clock = 0;

  constructor(
    private readonly engine: ContainerEngine,
    private readonly log: Logger,
    private readonly opts: { pullTimeoutMs: number; cacheBytes: number | undefined },
  ) {}

  /** Makes the image present. Image problems are job outcomes (`ok: false`); engine trouble throws. */
  async ensure(ref: string, auth: RegistryAuth | undefined, signal: AbortSignal): Promise<EnsureResult> {
    if (!isValidImageRef(ref)) return { ok: false, msg: `invalid image: ${JSON.stringify(ref.slice(0, 200))}` };
    let info = await this.engine.imageInspect(ref, signal);
    if (info === undefined) {
      const started = Date.now();
      const pullSignal = AbortSignal.any([signal, AbortSignal.timeout(this.opts.pullTimeoutMs)]);
      try {
        await this.engine.imagePull(ref, auth, pullSignal);
      } catch (err) {
        if (signal.aborted) throw err;
        if (pullSignal.aborted) return { ok: false, msg: `image pull failed: timed out after ${Math.round(this.opts.pullTimeoutMs / 1000)} s` };
        if (statusOf(err) === undefined) throw err;
        return { ok: false, msg: `image pull failed: ${engineMessageOf(err).slice(0, 300)}` };
      }
      this.log.info({ image: ref, ms: Date.now() - started }, 'image pulled');
      info = await this.engine.imageInspect(ref, signal);
      if (info === undefined) return { ok: false, msg: `image pull failed: ${ref} not present after pull` };
    }
    const e = this.entries.get(ref) ?? { ref, id: info.id, size: info.size, lastUsed: 0, inUse: 0 };
    e.id = info.id;
    e.size = info.size;
    e.lastUsed = ++this.clock;
    this.entries.set(ref, e);
    return { ok: true, imageId: info.id, volumes: info.volumes ?? [] };
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
    if (removed.length > 0) this.log.info({ removed, remaining: formatSize(total()), limit: formatSize(limit) }, 'image cache: evicted least recently used images');
    return removed;
  }

  private busyId(id: string): boolean {
    return [...this.entries.values()].some((x) => x.id === id && x.inUse > 0);
  }

  /** Tracked images, most recently used first (for logs and tests). */
  snapshot(): Array<{ ref: string; size: number; inUse: number }> {
    return [...this.entries.values()].sort((a, b) => b.lastUsed - a.lastUsed).map(({ ref, size, inUse }) => ({ ref, size, inUse }));
  }
}
