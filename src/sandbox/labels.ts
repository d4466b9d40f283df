// Label keys on every object the sandbox creates. The instance label scopes the orphan reaper to
// one runner, so two runners sharing an engine never remove each other's containers.
/** Every label key the sandbox sets starts with this; a task's own labels may not. */
export const LABEL_PREFIX = 'io.iron-runner.';
export const LABEL_MANAGED = 'io.iron-runner.managed';
export const LABEL_INSTANCE = 'io.iron-runner.instance';
export const LABEL_TASK = 'io.iron-runner.task';
export const LABEL_RESERVATION = 'io.iron-runner.reservation';
export const LABEL_ROLE = 'io.iron-runner.role';

export type ObjectRole = 'job' | 'input' | 'input-helper' | 'network';

export function objectLabels(instanceId: string, taskId: string, role: ObjectRole, extra: Record<string, string>): Record<string, string> {
  return { ...extra, [LABEL_MANAGED]: '1', [LABEL_INSTANCE]: instanceId, [LABEL_TASK]: taskId, [LABEL_ROLE]: role };
}

/** Label filter selecting exactly one instance's objects. */
export function instanceFilter(instanceId: string): string[] {
  return [`${LABEL_MANAGED}=1`, `${LABEL_INSTANCE}=${instanceId}`];
}
