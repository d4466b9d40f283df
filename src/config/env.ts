// The only module that reads process.env. Everything else receives an Env (or a frozen config built
// from one), so tests pass their own maps and nothing depends on global state.

export type Env = Readonly<Record<string, string | undefined>>;

export function processEnv(): Env {
  return process.env;
}

/** The environment to give a child process we spawn ourselves (never a job container). */
export function inheritableEnv(remove: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !remove.includes(k)) out[k] = v;
  }
  return out;
}
