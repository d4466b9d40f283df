// What every command receives: output streams, the environment as data, a cancellation signal and a
// lazily built API client (commands such as keygen never need one, nor its configuration).
import { readFileSync } from 'node:fs';
import { createIronClient, type IronClient } from '../api/index.js';
import { loadCliConfig, type CliConfig, type CliFlags } from '../config/cli.js';
import type { Env } from '../config/env.js';
import { IronError } from '../errors.js';
import type { Logger } from '../log.js';

export interface Output {
  write(text: string | Uint8Array): void;
  readonly isTTY: boolean;
}

export interface CliIo {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: Env;
  readonly cwd: string;
  readonly home: string | undefined;
  /** Reads stdin to the end (for --password-stdin). */
  readonly readStdin: () => Promise<string>;
}

export class CliContext {
  private client: IronClient | undefined;
  private cfg: CliConfig | undefined;

  constructor(
    readonly io: CliIo,
    readonly signal: AbortSignal,
    readonly log: Logger,
    private readonly flags: CliFlags,
  ) {}

  get out(): Output {
    return this.io.stdout;
  }
  get err(): Output {
    return this.io.stderr;
  }

  config(needProject = true): CliConfig {
    this.cfg ??= loadCliConfig({ flags: this.flags, env: this.io.env, cwd: this.io.cwd, home: this.io.home }, needProject);
    return this.cfg;
  }

  api(needProject = true): IronClient {
    if (this.client !== undefined) return this.client;
    const cfg = this.config(needProject);
    this.log.debug({ base_url: cfg.baseUrl, project_id: cfg.projectId, files: cfg.files }, 'configured');
    this.client = createIronClient({
      baseUrl: cfg.baseUrl,
      token: cfg.token,
      projectId: cfg.projectId,
      userAgent: 'iron-cli (iron-runner)',
      extraCa: cfg.extraCa,
      proxy: cfg.proxy,
      log: this.log,
    });
    return this.client;
  }

  /** Reads a user-named file, with the file's name (not its content) in the error. */
  readFile(path: string, what: string): Buffer {
    try {
      return readFileSync(path);
    } catch (err) {
      return fileError(path, what, err);
    }
  }

  async close(): Promise<void> {
    await this.client?.close();
  }
}

function fileError(path: string, what: string, err: unknown): never {
  const code = (err as { code?: string }).code ?? 'read error';
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : code;
  throw new IronError('ERR_CLI_FILE', `cannot read ${what} ${path}: ${why}`, { details: { path, reason: code } });
}
