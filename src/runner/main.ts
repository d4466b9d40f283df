#!/usr/bin/env -S node --max-semi-space-size=1
// The iron-runner bin: a small dispatcher. `exec` runs one task locally; the daemon mode is added
// by the runner's own module.
import { processEnv } from '../config/env.js';
import { runDaemon } from './daemon.js';
import { runExec } from './exec.js';
import { VERSION } from '../version.js';

const USAGE = `usage: iron-runner [command]

With no command, runs the hybrid runner daemon (configured by environment variables: CLUSTER_ID,
CLUSTER_TOKEN, API_URL, DECRYPTION_KEY, CONCURRENCY, ...; see the README).

commands:
  exec --image IMG [options] [-- CMD ARGS...]   run one task in the sandbox (see iron-runner exec --help)
  --help                                        this text
  --version                                     print the version
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--version' || cmd === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (cmd === undefined || cmd === 'daemon') {
    const code = await runDaemon({ env: processEnv(), stderr: process.stderr, isTty: process.stderr.isTTY, signals: process });
    // Exit even if a keep-alive socket or timer lingers; unref'd, so a clean exit is not delayed.
    setTimeout(() => process.exit(code), 3_000).unref();
    return code;
  }
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (cmd === 'exec') {
    const ac = new AbortController();
    let signals = 0;
    const onSignal = (name: NodeJS.Signals): void => {
      signals++;
      // First signal: cancel the task (SIGTERM -> grace -> SIGKILL, then cleanup). Second: leave now.
      if (signals === 1) ac.abort(new Error(`received ${name}`));
      else process.exit(130);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      return await runExec(rest, { env: processEnv(), stdout: process.stdout, stderr: process.stderr, signal: ac.signal });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  process.stderr.write(`iron-runner: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`iron-runner: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
