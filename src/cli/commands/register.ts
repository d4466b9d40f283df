// `iron register IMAGE[:TAG] [flags] [CMD...]`: registers a docker image as a code package.
import type { CodeSpec } from '../../api/index.js';
import type { Command } from '../command.js';
import { EXIT } from '../command.js';
import { shellJoin } from '../shell-words.js';
import { readCodeZip } from '../code-zip.js';
import { printJson, priority, seconds } from '../values.js';

/** The code name ironcli derives: the image without its tag or digest (a registry port stays). */
export function defaultCodeName(image: string): string {
  const noDigest = image.split('@')[0] ?? image;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

function envVars(pairs: readonly string[], fail: (m: string) => Error): Record<string, string> | null {
  if (pairs.length === 0) return null;
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw fail(`-e takes KEY=VALUE (got ${JSON.stringify(p.split('=')[0] ?? '')}...)`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

export const registerCommand: Command = {
  path: ['register'],
  summary: 'register a docker image as a code package (a new revision if the name exists)',
  synopsis: '[flags] IMAGE[:TAG] [CMD...]',
  stopAtPositional: true,
  options: [
    { name: 'env', short: 'e', type: 'string', multiple: true, arg: 'K=V', help: 'environment variable for the task (repeatable)' },
    { name: 'name', type: 'string', arg: 'NAME', help: 'code name (default: the image name without its tag)' },
    { name: 'config', type: 'string', arg: 'TEXT', help: 'config string given to tasks as CONFIG_FILE' },
    { name: 'config-file', type: 'string', arg: 'FILE', help: 'read the config string from a file' },
    { name: 'max-concurrency', type: 'string', arg: 'N', help: 'at most N tasks of this code running at once' },
    { name: 'retries', type: 'string', arg: 'N', help: 'retry failed tasks up to N times (0..10)' },
    { name: 'retries-delay', type: 'string', arg: 'SECONDS', help: 'wait between retries' },
    { name: 'default-priority', type: 'string', arg: '0|1|2', help: 'priority of tasks queued without one' },
    { name: 'json', type: 'boolean', help: 'print the API answer as JSON' },
  ],
  async run(ctx, o, args) {
    const [image, ...cmd] = args;
    if (image === undefined || image === '') throw o.fail('an IMAGE is required');
    if (/\s/.test(image)) throw o.fail(`invalid image name ${JSON.stringify(image)}`);
    const inlineConfig = o.str('config');
    const configFile = o.str('config-file');
    if (inlineConfig !== undefined && configFile !== undefined) throw o.fail('give either --config or --config-file, not both');
    const config = configFile !== undefined ? ctx.readFile(configFile, 'config file').toString('utf8') : inlineConfig;
    // ironcli's upload spells it --max-conc, and -1 (its default) means no limit.
    const maxConc = o.int('max-conc', -1, 1_000_000);
    const maxConcurrency = o.int('max-concurrency', 1, 1_000_000) ?? (maxConc !== undefined && maxConc > 0 ? maxConc : undefined);
    const retries = o.int('retries', 0, 10);
    const retriesDelay = seconds(o, 'retries-delay', 7 * 24 * 3600);
    const defaultPriority = priority(o, 'default-priority');
    const spec: CodeSpec = {
      name: o.str('name') ?? defaultCodeName(image),
      image,
      command: storedCommand(cmd),
      env_vars: envVars(o.list('env'), (m) => o.fail(m)),
      ...(config === undefined ? {} : { config }),
      ...(maxConcurrency === undefined ? {} : { max_concurrency: maxConcurrency }),
      ...(retries === undefined ? {} : { retries }),
      ...(retriesDelay === undefined ? {} : { retries_delay: Math.round(retriesDelay) }),
      ...(defaultPriority === undefined ? {} : { default_priority: defaultPriority }),
    };
    const zipArg = o.str('zip');
    const zip = zipArg === undefined ? undefined : await readCodeZip(ctx, zipArg);
    const code = await ctx.api().project.registerCode(spec, ctx.signal, zip === undefined ? undefined : { zip });
    if (o.flag('json')) printJson((s) => ctx.out.write(s), code);
    else if (zip !== undefined)
      ctx.out.write(`Uploaded code package '${code.name}' (image ${image}, ${zip.length} bytes) with id='${code.id}'${typeof code.rev === 'number' ? ` rev ${code.rev}` : ''}\n`);
    else ctx.out.write(`Registered code '${code.name}' (image ${image}) with id='${code.id}'${typeof code.rev === 'number' ? ` rev ${code.rev}` : ''}\n`);
    return EXIT.OK;
  },
};

/**
 * The command as Iron stores it, one string. Several words are quoted so that the string means
 * exactly what was typed (`sh -c 'echo a; echo b'`); a single argument is already a command string
 * (`iron register IMG "ruby hello.rb"`, which ironcli stores as given) and is kept verbatim.
 */
function storedCommand(cmd: readonly string[]): string {
  return cmd.length === 1 ? (cmd[0] ?? '') : shellJoin(cmd);
}
