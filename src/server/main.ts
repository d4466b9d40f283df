#!/usr/bin/env node
// iron-api: the self-hostable IronWorker v2 API. Subcommands create projects/clusters offline
// (`token create`, `cluster create`); without one it serves until SIGTERM/SIGINT.
import { loadServerConfig, parseArgs, SERVER_ENV_HELP, unknownFlags, type ServerConfig } from '../config/server.js';
import { VERSION } from '../version.js';
import { processEnv } from '../config/env.js';
import { isIronError } from '../errors.js';
import { createLogger } from '../log.js';
import { Admin, startServer, type Store } from './start.js';
import { openStore } from './store/open.js';

async function main(argv: readonly string[]): Promise<number> {
  // Everything iron-api creates (database, logs, code packages, keys) is for its own user only.
  process.umask(0o077);
  const args = parseArgs(argv);
  if (args.help) {
    process.stdout.write(SERVER_ENV_HELP);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`iron-api ${VERSION}\n`);
    return 0;
  }
  // Before the config is loaded, which would create the data dir: a mistyped flag changes nothing.
  const unknown = unknownFlags(args);
  const usage = [...args.problems, ...unknown.map((f) => `unknown flag ${f}`)];
  if (usage.length > 0) {
    process.stderr.write(`iron-api: ${usage.join('; ')}\n\n${SERVER_ENV_HELP}`);
    return 2;
  }
  let config: ServerConfig;
  try {
    config = loadServerConfig(args, processEnv());
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const [cmd, sub] = args.positionals;
  if (cmd !== undefined) return adminCommand(config, cmd, sub, args.flags);

  const log = createLogger({ level: config.logLevel, name: 'iron-api' });
  const handle = await startServer({ config, log });
  if (handle.bootstrap !== null) {
    const b = handle.bootstrap;
    // The one place tokens are shown: they are stored hashed and cannot be recovered later.
    process.stdout.write(
      [
        'iron-api: fresh data dir, created (shown once, save them now):',
        `  project id:     ${b.projectId}`,
        `  project token:  ${b.projectToken}`,
        `  cluster id:     ${b.clusterId}`,
        `  cluster token:  ${b.clusterToken}`,
        `  client config:  ${config.dataDir}/iron.json`,
        '',
      ].join('\n'),
    );
  }
  let signals = 0;
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      signals++;
      log.info({ signal: sig }, signals === 1 ? 'stopping (send again to force)' : 'forced exit');
      if (signals > 1) process.exit(130);
      void handle.close().then(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  log.flush();
  return 0;
}

async function adminCommand(config: ServerConfig, cmd: string, sub: string | undefined, flags: Readonly<Record<string, string>>): Promise<number> {
  let store: Store;
  try {
    store = await openStore(config, new AbortController().signal);
  } catch (err) {
    process.stderr.write(`${isIronError(err) ? `${err.code}: ` : ''}${(err as Error).message}\n`);
    return 1;
  }
  try {
    const admin = new Admin(store, config);
    // The bootstrap (default project and cluster) only happens on an empty store: keep it that way.
    if (await store.accounts.isEmpty(new AbortController().signal)) {
      process.stderr.write(`${config.database === undefined ? config.dataDir : 'the database'} is not initialised: start iron-api on it once first\n`);
      return 2;
    }
    if (cmd === 'token' && sub === 'create') {
      const pid = flags['project-id'];
      if (pid !== undefined) {
        process.stdout.write(`${JSON.stringify({ project_id: pid, token: await admin.projectToken(pid) })}\n`);
      } else {
        const p = await admin.createProject(flags['project'] ?? 'project');
        process.stdout.write(`${JSON.stringify({ project_id: p.projectId, token: p.token })}\n`);
      }
      return 0;
    }
    if (cmd === 'cluster' && sub === 'create') {
      const pid = flags['project-id'];
      if (pid === undefined) {
        process.stderr.write('cluster create needs --project-id\n');
        return 2;
      }
      const c = await admin.createCluster(pid, flags['name'] ?? 'cluster');
      process.stdout.write(`${JSON.stringify({ cluster_id: c.clusterId, token: c.token })}\n`);
      return 0;
    }
    process.stderr.write(`unknown command: ${[cmd, sub].filter(Boolean).join(' ')}\n\n${SERVER_ENV_HELP}`);
    return 2;
  } catch (err) {
    process.stderr.write(`${isIronError(err) ? `${err.code}: ` : ''}${(err as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`iron-api: ${isIronError(err) ? `${err.code}: ` : ''}${(err as Error).message}\n`);
    process.exitCode = isIronError(err, 'ERR_CONFIG_INVALID') ? 2 : 1;
  },
);
