// `iron worker upload [flags] --zip FILE|DIR IMAGE [CMD...]`: ironcli's upload. The same request as
// `iron register` plus the zip as the multipart `file` part; a directory is zipped first. Tasks run
// CMD in the package's directory ($TASK_DIR) with the package's files in it.
import type { Command } from '../command.js';
import { registerCommand } from './register.js';

export const uploadCommand: Command = {
  ...registerCommand,
  path: ['worker', 'upload'],
  summary: 'upload a code package (a zip or a directory) that runs in IMAGE',
  synopsis: '[flags] --zip FILE.zip|DIR IMAGE[:TAG] [CMD...]',
  options: [
    { name: 'zip', type: 'string', arg: 'FILE|DIR', help: 'the code package: a .zip file, or a directory to zip' },
    ...registerCommand.options,
    { name: 'max-conc', type: 'string', arg: 'N', help: "ironcli's spelling of --max-concurrency (-1: no limit)" },
  ],
};
