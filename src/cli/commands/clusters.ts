// `iron cluster create|list|show|token|delete`: hybrid clusters, whose runners serve queued tasks.
import type { ClusterInfo, ClusterStats } from '../../api/index.js';
import { isIronError } from '../../errors.js';
import { formatSize } from '../../config/units.js';
import type { Opts } from '../args.js';
import type { Command } from '../command.js';
import { EXIT } from '../command.js';
import { fields, shortTime, table } from '../table.js';
import { bytes, printJson } from '../values.js';

const JSON_OPT = { name: 'json', type: 'boolean', help: 'print JSON' } as const;

function oneId(o: Opts, args: readonly string[]): string {
  const [id] = args;
  if (id === undefined || id === '' || args.length !== 1) throw o.fail('exactly one cluster ID is required');
  return id;
}

const size = (n: unknown): string => (typeof n === 'number' && n > 0 ? formatSize(n) : '');

function describe(c: ClusterInfo): string {
  return fields([
    ['id', c.id],
    ['name', c.name],
    ['memory', size(c.memory)],
    ['disk', size(c.disk_space)],
    ['cpu share', c.cpu_share],
    ['runners', typeof c.runners_total === 'number' ? `${typeof c.runners_available === 'number' ? c.runners_available : 0} free of ${c.runners_total}` : undefined],
  ]);
}

const num = (v: unknown): string => (typeof v === 'number' ? String(v) : '');

/** The queue and one row per runner instance (lost ones included, with when they were last seen). */
function describeFleet(st: ClusterStats): string {
  const head = fields([
    ['queued', st.queued],
    ['queue ewma', st.ewma],
  ]);
  if (st.instances.length === 0) return `${head}no runners have reported yet\n`;
  const rows = st.instances.map((i) => [
    i.instance_id,
    i.hostname ?? '',
    i.version ?? '',
    `${typeof i.slots_busy === 'number' ? i.slots_busy : '?'}/${num(i.runners_total)}`,
    i.state ?? '',
    shortTime(i.last_seen_at),
  ]);
  return `${head}\n${table(['INSTANCE', 'HOST', 'VERSION', 'BUSY/SLOTS', 'STATE', 'LAST SEEN'], rows)}`;
}

export const clusterCreateCommand: Command = {
  path: ['cluster', 'create'],
  summary: 'create a cluster',
  synopsis: '[--memory M] [--disk D] [--cpu-share N] NAME',
  options: [
    { name: 'memory', type: 'string', arg: 'SIZE', help: 'memory per task, e.g. 512M' },
    { name: 'disk', type: 'string', arg: 'SIZE', help: 'disk per task, e.g. 10G' },
    { name: 'cpu-share', type: 'string', arg: 'N', help: 'relative CPU weight per task' },
    JSON_OPT,
  ],
  async run(ctx, o, args) {
    const [name] = args;
    if (name === undefined || name === '' || args.length !== 1) throw o.fail('exactly one cluster NAME is required');
    const memory = bytes(o, 'memory');
    const disk = bytes(o, 'disk');
    const cpu = o.int('cpu-share', 1, 1_000_000);
    const cluster = await ctx.api(false).clusters.create(
      {
        name,
        ...(memory === undefined ? {} : { memory }),
        ...(disk === undefined ? {} : { disk }),
        ...(cpu === undefined ? {} : { cpu_share: cpu }),
      },
      ctx.signal,
    );
    if (o.flag('json')) {
      printJson((s) => ctx.out.write(s), cluster);
      return EXIT.OK;
    }
    ctx.out.write(`Created cluster '${cluster.name || name}' with id='${cluster.id}'\n`);
    ctx.out.write(
      `Start a runner for it:\n  docker run --privileged -d -e CLUSTER_ID=${cluster.id} ` +
        `-e "CLUSTER_TOKEN=$(iron cluster token ${cluster.id})" -e API_URL=${ctx.config(false).baseUrl} iron/runner\n`,
    );
    return EXIT.OK;
  },
};

export const clusterListCommand: Command = {
  path: ['cluster', 'list'],
  summary: 'list clusters',
  synopsis: '[--json]',
  options: [JSON_OPT],
  async run(ctx, o, args) {
    if (args.length > 0) throw o.fail(`unexpected argument ${JSON.stringify(args[0])}`);
    const list = await ctx.api(false).clusters.list(ctx.signal);
    if (o.flag('json')) printJson((s) => ctx.out.write(s), list);
    else
      ctx.out.write(
        table(
          ['ID', 'NAME', 'MEMORY', 'DISK'],
          list.map((c) => [c.id, c.name, size(c.memory), size(c.disk_space)]),
        ),
      );
    return EXIT.OK;
  },
};

export const clusterShowCommand: Command = {
  path: ['cluster', 'show'],
  summary: "show a cluster's settings",
  synopsis: '[--json] ID',
  options: [JSON_OPT],
  async run(ctx, o, args) {
    const api = ctx.api(false).clusters;
    const cluster = await api.get(oneId(o, args), ctx.signal);
    // Only the owner project reads a cluster's stats; another project that may use it sees its settings.
    const stats = await api.stats(cluster.id, ctx.signal).catch((err: unknown) => {
      if (isIronError(err, 'ERR_API_FORBIDDEN') || isIronError(err, 'ERR_API_NOT_FOUND')) return undefined;
      throw err;
    });
    if (o.flag('json')) printJson((s) => ctx.out.write(s), stats === undefined ? cluster : { ...cluster, stats });
    else ctx.out.write(describe(cluster) + (stats === undefined ? '' : describeFleet(stats)));
    return EXIT.OK;
  },
};

export const clusterTokenCommand: Command = {
  path: ['cluster', 'token'],
  summary: "print a cluster's runner token (CLUSTER_TOKEN)",
  synopsis: 'ID',
  options: [],
  async run(ctx, o, args) {
    ctx.out.write(`${await ctx.api(false).clusters.credentials(oneId(o, args), ctx.signal)}\n`);
    return EXIT.OK;
  },
};

export const clusterDeleteCommand: Command = {
  path: ['cluster', 'delete'],
  summary: 'delete a cluster',
  synopsis: 'ID',
  options: [],
  async run(ctx, o, args) {
    const id = oneId(o, args);
    const res = await ctx.api(false).clusters.delete(id, ctx.signal);
    ctx.out.write(`${res.msg ?? 'Cluster deleted'}: ${id}\n`);
    return EXIT.OK;
  },
};
