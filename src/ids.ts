// The one home of id shapes that cross module boundaries, so config, runner, sandbox and server
// agree on what a valid id is instead of each keeping a regex of its own.

/**
 * A runner instance id: it names the runner's containers and volumes (labels and Docker object
 * names), so it is what Docker accepts there: a letter or digit, then letters, digits, `_`, `.`, `-`,
 * at most 63 in all. The generated form is `r-` and 16 hex digits.
 */
const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** For problem messages: what an instance id may hold. */
export const INSTANCE_ID_RULE = 'a letter or digit, then letters, digits, ., - or _ (at most 63 in all)';

export function isInstanceId(value: unknown): value is string {
  return typeof value === 'string' && INSTANCE_ID.test(value);
}

/** An id iron-api hands out (tasks, projects, clusters, codes, schedules): 24 lowercase hex digits. */
const OBJECT_ID = /^[0-9a-f]{24}$/;

export function isObjectId(value: string): boolean {
  return OBJECT_ID.test(value);
}
