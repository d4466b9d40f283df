// Code packages: register a Docker image (or a zip) as a new revision, read, delete, revisions,
// download, stats, pause/resume of the task queue, cancel_all. A registration may let waiting tasks
// run (a raised max_concurrency) and lists the image for pre-pull.
import { IronError } from '../../errors.js';
import { verifyPackage } from '../../zip/index.js';
import { notFound } from '../http/errors.js';
import type { Code, CodeInput, CodeRevision, Page, TaskStatus } from '../store/records.js';
import type { PackageFile } from './code-packages.js';
import type { ServicesCore } from './core.js';

export const MAX_CODES_PER_PROJECT = 1000;

/** An uploaded zip in a temp file (the caller removes it if it is still there afterwards). */
export interface UploadedZip {
  readonly path: string;
}

export class Codes {
  constructor(private readonly core: ServicesCore) {}

  /**
   * Registers a revision: the zip is checked first (400, ERR_ZIP_*: no runner ever sees an unsafe
   * package), then `input` is read, then the project's quota.
   */
  async register(zip: UploadedZip | undefined, input: () => CodeInput, signal: AbortSignal): Promise<Code> {
    const { config, store, readiness, packages } = this.core;
    if (zip !== undefined) await verifyPackage(zip.path, config.zipLimits, signal);
    const fields = input();
    await this.checkQuota(fields.projectId, fields.name, signal);
    const code = await store.codes.putCode(fields, Date.now(), signal);
    // A new revision may raise max_concurrency: tasks waiting for a slot may run now.
    if (code.rev > 1) await readiness.codeReady(code.id, signal);
    if (zip !== undefined) await packages.put(code.historyId, zip.path, signal);
    await this.warmImage(code, signal);
    return code;
  }

  list(projectId: string, page: Page, signal: AbortSignal): Promise<Code[]> {
    return this.core.store.codes.listCodes(projectId, page, signal);
  }

  async get(projectId: string, id: string, signal: AbortSignal): Promise<Code> {
    const c = await this.core.store.codes.getCode(projectId, id, signal);
    if (c === undefined) throw notFound('Code not found');
    return c;
  }

  async delete(projectId: string, id: string, signal: AbortSignal): Promise<void> {
    const c = await this.get(projectId, id, signal);
    await this.core.store.codes.deleteCode(c.projectId, c.id, Date.now(), signal);
  }

  /** `page` is read once the code is found. */
  async revisions(projectId: string, id: string, page: () => Page, signal: AbortSignal): Promise<CodeRevision[]> {
    const c = await this.get(projectId, id, signal);
    return this.core.store.codes.listRevisions(c.projectId, c.id, page(), signal);
  }

  /** The zip of the current revision, or of revision `wanted` ("" / null: the current one). */
  async download(projectId: string, id: string, wanted: string | null, signal: AbortSignal): Promise<{ code: Code; rev: number; file: PackageFile }> {
    const c = await this.get(projectId, id, signal);
    let rev = c.rev;
    let historyId = c.historyId;
    if (wanted !== null && wanted !== '') {
      const revs = await this.core.store.codes.listRevisions(c.projectId, c.id, { page: 0, perPage: 100 }, signal);
      const found = revs.find((x) => String(x.rev) === wanted);
      if (found === undefined) throw notFound('Revision not found');
      rev = found.rev;
      historyId = found.id;
    }
    const file = await this.core.packages.file(historyId, signal);
    if (file === undefined) throw notFound('This revision has no code file (a Docker image registration)');
    return { code: c, rev, file };
  }

  /** Task counts by status of the code's tasks created in [since, until] (epoch ms); `window` is read once the code is found. */
  async stats(projectId: string, id: string, window: () => { since: number; until: number }, signal: AbortSignal): Promise<Record<TaskStatus, number>> {
    const c = await this.get(projectId, id, signal);
    return this.core.store.tasks.taskCounts({ codeId: c.id, ...window() }, signal);
  }

  async pause(projectId: string, id: string, signal: AbortSignal): Promise<void> {
    const c = await this.get(projectId, id, signal);
    await this.core.store.codes.setCodePaused(c.projectId, c.id, true, Date.now(), signal);
  }

  async resume(projectId: string, id: string, signal: AbortSignal): Promise<void> {
    const c = await this.get(projectId, id, signal);
    await this.core.store.codes.setCodePaused(c.projectId, c.id, false, Date.now(), signal);
    await this.core.readiness.codeReady(c.id, signal);
  }

  async cancelAll(projectId: string, id: string, signal: AbortSignal): Promise<number> {
    const c = await this.get(projectId, id, signal);
    // Nothing to wake: the slots freed belong to this code, whose queued tasks are cancelled too.
    return this.core.store.tasks.cancelAll(c.projectId, c.id, Date.now(), signal);
  }

  /** A new name past the project's quota of codes is refused (a new revision of an existing one is not). */
  private async checkQuota(projectId: string, name: string, signal: AbortSignal): Promise<void> {
    const { codes } = this.core.store;
    if ((await codes.getCodeByName(projectId, name, signal)) !== undefined) return;
    if ((await codes.countCodes(projectId, signal)) >= MAX_CODES_PER_PROJECT) {
      throw new IronError('ERR_SERVER_QUOTA', `a project may have at most ${MAX_CODES_PER_PROJECT} codes; delete some first`);
    }
  }

  /**
   * Pre-pull: the new revision's image is listed for the runners of the clusters this project's tasks
   * go to (its own clusters and the install's default cluster), and their parked reserves are woken.
   */
  private async warmImage(code: Code, signal: AbortSignal): Promise<void> {
    if (code.image === '') return;
    const { store, warmups, readiness } = this.core;
    const own = await store.clusters.listClusters(code.projectId, { page: 0, perPage: 100 }, signal);
    const shared = await store.clusters.resolveCluster(code.projectId, 'default', signal);
    const ids = [...own.map((c) => c.id), ...(shared === undefined ? [] : [shared.id])];
    warmups.add(ids, code.image, code.projectId, Date.now());
    // Every parked reserve of those clusters: each runner is to pull, not just one (registrations are rare).
    readiness.wakeAll(ids);
  }
}
