// What the Clusters page hands out after "Create cluster": a docker run line and the cloud-init user
// data (deploy/cloud-init/user-data.sh with its settings filled in). Pure functions of their inputs
// (test/hud/deploy-snippets.test.ts runs them against the real script).

export interface RunnerSettings {
  readonly clusterId: string;
  readonly clusterToken: string;
  readonly apiUrl: string;
}

/** A word for a POSIX shell: as is when it is plainly safe, else single-quoted. */
export function shellWord(v: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

export function dockerRunCommand(s: RunnerSettings): string {
  const env = (k: string, v: string): string => `-e ${shellWord(`${k}=${v}`)}`;
  return ['docker run --privileged -d', env('CLUSTER_ID', s.clusterId), env('CLUSTER_TOKEN', s.clusterToken), env('API_URL', s.apiUrl), 'iron/runner'].join(' ');
}

/** Inside a double-quoted shell string, only these four characters are special. */
function inDoubleQuotes(v: string): string {
  return v.replace(/[\\"$`]/g, (c) => `\\${c}`);
}

/**
 * The user-data script with CLUSTER_ID, CLUSTER_TOKEN and API_URL as its defaults. Throws when the
 * script no longer has one of those setting lines (the test catches that before a release does).
 */
export function fillUserData(script: string, s: RunnerSettings): string {
  let out = script;
  for (const [key, value] of [
    ['CLUSTER_ID', s.clusterId],
    ['API_URL', s.apiUrl],
    ['CLUSTER_TOKEN', s.clusterToken],
  ] as const) {
    const line = new RegExp(`^${key}="\\$\\{${key}:-[^}]*\\}"`, 'm');
    if (!line.test(out)) throw new Error(`user-data.sh has no ${key}="\${${key}:-...}" line`);
    out = out.replace(line, () => `${key}="\${${key}:-${inDoubleQuotes(value)}}"`);
  }
  return out;
}
