// The only module that reads process.env. Everything else receives an Env (or a frozen config built
// from one), so tests pass their own maps and nothing depends on global state.

export type Env = Readonly<Record<string, string | undefined>>;

export function processEnv(): Env {
  return process.env;
}
