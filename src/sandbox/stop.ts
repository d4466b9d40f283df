// Stop is SIGTERM to PID 1 (docker-init, which forwards it to the job), a grace period, then SIGKILL.
// We do it ourselves instead of Docker's stop?t=N because N is whole seconds and the call cannot be
// bounded by our signal. Idempotent: signalling a container that already exited is a no-op, and
// concurrent callers share one stop.
import type { ContainerEngine } from './engine.js';

export class ContainerStopper {
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly engine: ContainerEngine,
    private readonly id: string,
    private readonly graceMs: number,
  ) {}

  /** `exited` resolves when the container is known to have stopped (the task's wait call). */
  stop(exited: Promise<unknown>): Promise<void> {
    this.stopping ??= this.run(exited);
    return this.stopping;
  }

  private async run(exited: Promise<unknown>): Promise<void> {
    // Stopping must work after the task's own signal aborted (that is why we stop), so it gets its own bound.
    const signal = AbortSignal.timeout(this.graceMs + 30_000);
    await this.engine.containerKill(this.id, 'SIGTERM', signal);
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace'>((resolve) => {
      timer = setTimeout(() => resolve('grace'), this.graceMs);
    });
    const first = await Promise.race([
      exited.then(
        () => 'exited' as const,
        () => 'exited' as const,
      ),
      graceOver,
    ]);
    clearTimeout(timer);
    if (first === 'grace') await this.engine.containerKill(this.id, 'SIGKILL', signal);
  }
}
