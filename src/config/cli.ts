// The `iron` CLI's connection settings, resolved like Iron's clients do: flags > env (IRON_TOKEN,
// IRON_PROJECT_ID, IRON_HOST, IRON_PORT, IRON_SCHEME) > ./iron.json > ~/.iron.json > defaults.
// In a file, an `iron_worker` (or `worker`) object overrides the top level, as in iron_go3.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IronError } from '../errors.js';
import type { Env } from './env.js';
import { ConfigReader, deepFreeze } from './reader.js';

const KEYS = ['token', 'project_id', 'host', 'port', 'scheme'] as const;
type Key = (typeof KEYS)[number];
type Settings = Partial<Record<Key, string>>;

export interface CliFlags {
  readonly token?: string | undefined;
  readonly projectId?: string | undefined;
  readonly host?: string | undefined;
  readonly port?: string | undefined;
  readonly scheme?: string | undefined;
  /** PEM bundle of extra CAs to trust (self-signed iron-api). */
  readonly caFile?: string | undefined;
}

export interface CliConfigInput {
  readonly flags: CliFlags;
  readonly env: Env;
  readonly cwd: string;
  readonly home: string | undefined;
  readonly readFile?: (path: string) => string;
}

export interface CliConfig {
  readonly token: string;
  readonly projectId: string;
  /** scheme://host:port */
  readonly baseUrl: string;
  readonly extraCa?: string;
  readonly proxy?: { readonly httpProxy?: string; readonly httpsProxy?: string; readonly noProxy?: string };
  /** Which files were read, for `--debug` (never values). */
  readonly files: readonly string[];
}

// Self-hosted first: with no host configured anywhere, talk to a local iron-api on its default port
// rather than sending the token to a third party.
export const IRON_DEFAULTS = { scheme: 'http', host: '127.0.0.1', port: '8080' } as const;

const NOT_CONFIGURED =
  'no IronWorker credentials found. Set IRON_TOKEN and IRON_PROJECT_ID, pass --token and --project-id, ' +
  'or copy the iron.json that iron-api writes on its first start into this directory (or to ~/.iron.json).';

function readSettingsFile(path: string, read: (p: string) => string, reader: ConfigReader): Settings | undefined {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    reader.problem(`${path} cannot be read: ${code ?? 'read error'}`);
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    reader.problem(`${path} is not valid JSON`);
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    reader.problem(`${path} must hold a JSON object`);
    return undefined;
  }
  const top = parsed as Record<string, unknown>;
  const out: Settings = {};
  for (const layer of [top, top.worker, top.iron_worker]) {
    if (layer === null || typeof layer !== 'object') continue;
    for (const k of KEYS) {
      const v = (layer as Record<string, unknown>)[k];
      if (typeof v === 'string' && v !== '') out[k] = v;
      else if (typeof v === 'number') out[k] = String(v);
    }
  }
  return out;
}

export function loadCliConfig(input: CliConfigInput, needProject = true): CliConfig {
  const read = input.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const reader = new ConfigReader(input.env, read);
  const files: string[] = [];
  const layers: Settings[] = [];
  const f = input.flags;
  layers.push({ token: f.token, project_id: f.projectId, host: f.host, port: f.port, scheme: f.scheme } as Settings);
  layers.push({
    token: reader.raw('IRON_TOKEN'),
    project_id: reader.raw('IRON_PROJECT_ID'),
    host: reader.raw('IRON_HOST'),
    port: reader.raw('IRON_PORT'),
    scheme: reader.raw('IRON_SCHEME'),
  } as Settings);
  const candidates = [join(input.cwd, 'iron.json')];
  if (input.home !== undefined && input.home !== '') candidates.push(join(input.home, '.iron.json'));
  for (const path of candidates) {
    const s = readSettingsFile(path, read, reader);
    if (s !== undefined) {
      layers.push(s);
      files.push(path);
    }
  }
  const pick = (k: Key): string | undefined => {
    for (const l of layers) {
      const v = l[k];
      if (v !== undefined && v !== '') return v;
    }
    return undefined;
  };
  const token = pick('token');
  const projectId = pick('project_id');
  if (token === undefined || (needProject && projectId === undefined)) {
    reader.finish('iron CLI');
    const missing = token === undefined ? 'token' : 'project id';
    throw new IronError('ERR_CLI_NOT_CONFIGURED', `${missing} missing: ${NOT_CONFIGURED}`, { details: { missing } });
  }
  const hostSet = pick('host') !== undefined;
  const scheme = (pick('scheme') ?? (hostSet ? 'https' : IRON_DEFAULTS.scheme)).toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') reader.problem(`scheme must be http or https (got ${JSON.stringify(scheme)})`);
  const host = pick('host') ?? IRON_DEFAULTS.host;
  if (!/^[A-Za-z0-9.\-_]+$|^\[[0-9a-fA-F:.]+\]$/.test(host)) reader.problem(`host must be a host name or address (got ${JSON.stringify(host)})`);
  const portText = pick('port') ?? (!hostSet ? IRON_DEFAULTS.port : scheme === 'http' ? '80' : '443');
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) reader.problem(`port must be 1..65535 (got ${JSON.stringify(portText)})`);
  const caFile = f.caFile ?? reader.raw('IRON_CA_FILE');
  let extraCa: string | undefined;
  if (caFile !== undefined) {
    try {
      extraCa = read(caFile);
    } catch (err) {
      reader.problem(`CA file ${caFile} cannot be read: ${(err as { code?: string }).code ?? 'read error'}`);
    }
  }
  reader.finish('iron CLI');
  const httpsProxy = reader.raw('HTTPS_PROXY') ?? reader.raw('https_proxy');
  const httpProxy = reader.raw('HTTP_PROXY') ?? reader.raw('http_proxy');
  const noProxy = reader.raw('NO_PROXY') ?? reader.raw('no_proxy');
  const proxy =
    httpsProxy === undefined && httpProxy === undefined
      ? undefined
      : {
          ...(httpsProxy === undefined ? {} : { httpsProxy }),
          ...(httpProxy === undefined ? {} : { httpProxy }),
          ...(noProxy === undefined ? {} : { noProxy }),
        };
  return deepFreeze({
    token,
    projectId: projectId ?? '',
    baseUrl: `${scheme}://${host}:${port}`,
    files,
    ...(extraCa === undefined ? {} : { extraCa }),
    ...(proxy === undefined ? {} : { proxy }),
  });
}
