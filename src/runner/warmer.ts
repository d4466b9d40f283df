// Pre-pull: images the API lists in the reserve answer (a code was registered or updated) are pulled
// in the background, one at a time, with the credentials and project scope their first task will
// have, so that task finds the image present and its credentials already checked (docs/protocol.md).
// A failed warm-up is only an event (logged and counted): the task's own pull reports the problem as the task's outcome.
import PQueue from 'p-queue';
import type { WarmAnswer, WarmImage } from '../api/index.js';
import { errorCodeOf } from '../errors.js';
import type { Sandbox } from '../sandbox/index.js';
import type { RunnerEvents } from './events.js';
import { registryAuth } from './task-spec.js';

export class Warmer {
  /** Sent with every reserve; the API answers with what is new since. */
  cursor = '';
  private readonly queue = new PQueue({ concurrency: 1 });
  private readonly queued = new Set<string>();
  private readonly ctl = new AbortController();

  constructor(
    private readonly sandbox: Sandbox,
    private readonly events: RunnerEvents,
  ) {}

  take(res: WarmAnswer): void {
    if (res.warm_cursor !== undefined) this.cursor = res.warm_cursor;
    if (this.ctl.signal.aborted) return;
    for (const w of res.warm) this.add(w);
  }

  private add(w: WarmImage): void {
    const key = `${w.project_id}\0${w.image}`;
    if (this.queued.has(key)) return;
    this.queued.add(key);
    const signal = this.ctl.signal;
    void this.queue.add(async () => {
      const t0 = performance.now();
      try {
        const res = await this.sandbox.warm(w.image, registryAuth(w.docker_auth), w.project_id, signal);
        const ms = Math.round(performance.now() - t0);
        if (res.ok) this.events.emit('image.warmed', { image: w.image, projectId: w.project_id, ms });
        else this.events.emit('image.warm_failed', { image: w.image, projectId: w.project_id, reason: res.msg });
      } catch (err) {
        if (signal.aborted) return;
        this.events.emit('image.warm_failed', { image: w.image, projectId: w.project_id, code: errorCodeOf(err) });
      } finally {
        this.queued.delete(key);
      }
    });
  }

  /** Drain: no new warm-ups, the running one is aborted. */
  async stop(): Promise<void> {
    this.ctl.abort();
    this.queue.clear();
    await this.queue.onIdle();
  }
}
