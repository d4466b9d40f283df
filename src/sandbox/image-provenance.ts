// Which images on the engine came from a registry with credentials ("private"), and who has shown the
// right to use them. The engine cannot tell: once pulled, an image runs for anyone who names it. So an
// image pulled with credentials is recorded here (by repository and by image id), and a task of another
// scope (project + credential) may use it only after its own credentials pulled it from the registry
// again (docs/security.md, "Cached private images"). The record is kept in a file so a runner restart
// does not forget which images are private; who was verified is kept in memory only (a restart
// re-checks once, which costs one manifest round trip).
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { RegistryAuth } from './engine.js';

interface Saved {
  version: 1;
  repos: string[];
  ids: Record<string, string>;
}

/** At most this many private images are remembered (oldest forgotten first); plenty for one engine. */
const MAX_IDS = 10_000;

/** "busybox:1" -> "docker.io/library/busybox"; "host:5000/a/b@sha256:..." -> "host:5000/a/b". */
export function repositoryOf(ref: string): string {
  let name = ref;
  const at = name.indexOf('@');
  if (at >= 0) name = name.slice(0, at);
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) name = name.slice(0, colon);
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    return first === 'index.docker.io' ? `docker.io${name.slice(slash)}` : name;
  }
  return slash < 0 ? `docker.io/library/${name}` : `docker.io/${name}`;
}

/** A reference by image id ("sha256:<hex>" or a hex prefix of it), as the engine resolves it. */
export function isIdRef(ref: string, imageId: string): boolean {
  const hex = ref.startsWith('sha256:') ? ref.slice(7) : ref;
  return /^[0-9a-f]{6,64}$/.test(hex) && imageId.startsWith(`sha256:${hex}`);
}

/** The scope a verification holds for: the project and the exact credential it presented. */
export function scopeKey(scope: string, auth: RegistryAuth | undefined): string {
  const h = createHash('sha256')
    .update(scope)
    .update('\0')
    .update(JSON.stringify(auth ?? null))
    .digest('hex');
  return h.slice(0, 32);
}

export class ImageProvenance {
  private readonly repos = new Set<string>();
  /** image id -> the reference it was pulled by (used to re-check a task that names the id). */
  private readonly ids = new Map<string, string>();
  private readonly verified = new Map<string, Set<string>>();
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string | undefined,
    private readonly log: Logger,
  ) {}

  async load(signal: AbortSignal): Promise<void> {
    if (this.file === undefined) return;
    let text: string;
    try {
      text = await readFile(this.file, { encoding: 'utf8', signal });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ err, file: this.file }, 'private image record unreadable; starting empty');
      return;
    }
    try {
      const saved = JSON.parse(text) as Partial<Saved>;
      for (const r of Array.isArray(saved.repos) ? saved.repos : []) if (typeof r === 'string') this.repos.add(r);
      for (const [id, ref] of Object.entries(saved.ids ?? {})) if (typeof ref === 'string') this.ids.set(id, ref);
    } catch {
      this.log.warn({ file: this.file }, 'private image record is not valid JSON; starting empty');
    }
  }

  /** True when using `ref` (resolved to `imageId`) for another scope needs a registry check first. */
  isPrivate(ref: string, imageId: string): boolean {
    if (this.repos.has(repositoryOf(ref))) return true;
    return isIdRef(ref, imageId) && this.ids.has(imageId);
  }

  /** What to pull to check a scope's access: the task's own reference, or for an id the recorded one. */
  checkRef(ref: string, imageId: string): string {
    return isIdRef(ref, imageId) ? (this.ids.get(imageId) ?? ref) : ref;
  }

  isVerified(imageId: string, key: string): boolean {
    return this.verified.get(imageId)?.has(key) === true;
  }

  verify(imageId: string, key: string): void {
    const set = this.verified.get(imageId) ?? new Set<string>();
    set.add(key);
    this.verified.set(imageId, set);
  }

  /** An image was pulled with credentials: private from now on. */
  async recordPrivate(ref: string, imageId: string, key: string): Promise<void> {
    this.verify(imageId, key);
    const repo = repositoryOf(ref);
    if (this.repos.has(repo) && this.ids.get(imageId) === ref) return;
    this.repos.add(repo);
    this.ids.delete(imageId);
    this.ids.set(imageId, ref);
    while (this.ids.size > MAX_IDS) this.ids.delete(this.ids.keys().next().value ?? '');
    await this.save();
  }

  /** Writes are serialized and atomic (temp file + rename): a crash leaves the old or the new record. */
  private save(): Promise<void> {
    const file = this.file;
    if (file === undefined) return Promise.resolve();
    const body: Saved = { version: 1, repos: [...this.repos], ids: Object.fromEntries(this.ids) };
    this.saving = this.saving
      .then(async () => {
        const tmp = `${file}.tmp`;
        await writeFile(tmp, JSON.stringify(body), { mode: 0o600, signal: AbortSignal.timeout(10_000) });
        await rename(tmp, file);
      })
      .catch((err: unknown) => {
        // The record in memory still holds; only a restart before the next successful save forgets it.
        this.log.warn({ err, file }, 'private image record not saved');
      });
    return this.saving;
  }
}
