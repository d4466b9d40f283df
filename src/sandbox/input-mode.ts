// Picks how job input is delivered, once: `volume` always works; `auto` uses a read-only bind of the
// runner's input directory when the probe proves the engine sees it. The probe needs an image on the
// engine, so it runs with the first task's image; tasks that arrive meanwhile wait for its answer.
// A definite answer is kept; engine trouble during the probe is not (the next task probes again).
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { ContainerEngine } from './engine.js';
import { BindInput } from './input-bind.js';
import { probeBindInput } from './input-probe.js';
import { VolumeInput } from './input-volume.js';
import type { InputRequest, JobInput, PreparedInput } from './input-contract.js';

export type InputModeSetting = 'auto' | 'volume';
export type InputMode = 'bind' | 'volume';

const PROBE_MS = 60_000;

export class InputChooser implements JobInput {
  private readonly volume = new VolumeInput();
  private readonly bind: BindInput | undefined;
  private chosen: Promise<JobInput> | undefined;
  private decided: InputMode | undefined;

  constructor(
    private readonly engine: ContainerEngine,
    private readonly setting: InputModeSetting,
    bindRoot: string | undefined,
    private readonly instanceId: string,
    private readonly log: Logger,
  ) {
    this.bind = setting === 'auto' && bindRoot !== undefined ? new BindInput(bindRoot) : undefined;
    if (this.bind === undefined) this.decided = 'volume';
  }

  /** Undefined until the first task decided it. */
  get mode(): InputMode | undefined {
    return this.decided;
  }

  async prepare(req: InputRequest, signal: AbortSignal): Promise<PreparedInput> {
    const input = await this.choose(req.image);
    return input.prepare(req, signal);
  }

  /** Removes input directories of tasks not in keepTasks. */
  async reap(keepTasks: ReadonlySet<string>): Promise<number> {
    return this.bind === undefined ? 0 : this.bind.reap(keepTasks, this.log);
  }

  private choose(image: string): Promise<JobInput> {
    const bind = this.bind;
    if (bind === undefined) return Promise.resolve(this.volume);
    // Not the task's signal: other tasks wait on this answer too.
    this.chosen ??= (async (): Promise<JobInput> => {
      await mkdir(bind.root, { recursive: true, mode: 0o700 });
      const r = await probeBindInput(this.engine, bind.root, image, this.instanceId, AbortSignal.timeout(PROBE_MS));
      if (r.ok) {
        this.decided = 'bind';
        this.log.info({ dir: bind.root }, 'job input: read-only bind of a per-task directory (the engine shares this filesystem)');
        return bind;
      }
      this.decided = 'volume';
      this.log.info({ dir: bind.root, reason: r.reason }, 'job input: per-task volume (the engine does not see the input directory)');
      return this.volume;
    })().catch((err: unknown) => {
      this.chosen = undefined;
      throw err;
    });
    return this.chosen;
  }
}
