// Finds and removes what a previous run of this runner instance left behind (crash, kill -9):
// containers first (they hold the input volumes), then volumes. The label filter includes the
// instance id, so a runner never touches another runner's objects on a shared engine.
import type { Logger } from 'pino';
import type { ContainerEngine } from './engine.js';
import { LABEL_RESERVATION, LABEL_ROLE, LABEL_TASK, instanceFilter } from './labels.js';

export interface ReapedTask {
  taskId: string;
  reservationId?: string;
  containerId: string;
}

/**
 * `keepTasks`: tasks this instance is still running (after an engine restart, only the leftovers of
 * tasks that already ended must go); their containers and volumes are left alone.
 */
export async function reapOrphans(engine: ContainerEngine, instanceId: string, log: Logger, signal: AbortSignal, keepTasks: ReadonlySet<string> = new Set()): Promise<ReapedTask[]> {
  const filter = instanceFilter(instanceId);
  const kept = (labels: Record<string, string>): boolean => keepTasks.has(labels[LABEL_TASK] ?? '');
  const containers = (await engine.containerList(filter, signal)).filter((c) => !kept(c.labels));
  const reaped: ReapedTask[] = [];
  for (const c of containers) {
    await engine.containerRemove(c.id, signal);
    if (c.labels[LABEL_ROLE] !== 'job') continue;
    const t: ReapedTask = { taskId: c.labels[LABEL_TASK] ?? '', containerId: c.id };
    const reservation = c.labels[LABEL_RESERVATION];
    if (reservation !== undefined) t.reservationId = reservation;
    reaped.push(t);
  }
  const volumes = (await engine.volumeList(filter, signal)).filter((v) => !kept(v.labels));
  for (const v of volumes) await engine.volumeRemove(v.name, signal);
  if (containers.length + volumes.length > 0) {
    log.warn({ containers: containers.length, volumes: volumes.length, tasks: reaped.map((t) => t.taskId) }, 'removed orphaned sandbox objects of this runner instance');
  }
  return reaped;
}
