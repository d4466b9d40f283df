#!/usr/bin/env node
// Entry point of the `iron` binary: wires the process (argv, streams, signals) to runCli.
import { homedir } from 'node:os';
import { processEnv } from '../config/env.js';
import { IronError } from '../errors.js';
import { EXIT } from './command.js';
import type { Output } from './context.js';
import { runCli } from './run.js';

function output(stream: NodeJS.WriteStream): Output {
  return {
    write: (text) => {
      stream.write(text);
    },
    isTTY: stream.isTTY,
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  // `iron worker log ID | head`: a closed pipe is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.OK);
  });
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.INTERRUPTED);
    controller.abort(new IronError('ERR_ABORTED', 'interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let home: string | undefined;
  try {
    home = homedir();
  } catch {
    home = undefined;
  }
  process.exitCode = await runCli(
    process.argv.slice(2),
    {
      stdout: output(process.stdout),
      stderr: output(process.stderr),
      env: processEnv(),
      cwd: process.cwd(),
      home,
      readStdin,
    },
    controller.signal,
  );
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

await main();
