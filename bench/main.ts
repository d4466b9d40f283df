// `npm run bench [-- name...]`: runs the named benchmarks (all by default), prints human-readable
// lines with machine facts, and merges the metrics into bench/results/latest.json.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchApi } from './api.js';
import { benchCrypto } from './crypto.js';
import { benchFleet } from './fleet.js';
import { benchFootprint } from './footprint.js';
import { benchHud } from './hud.js';
import { benchLogs } from './logs.js';
import { benchMasker } from './masker.js';
import { benchOverhead } from './overhead.js';
import { benchPickup } from './pickup.js';
import { benchPrepull } from './prepull.js';
import { benchReserve } from './reserve.js';
import { benchSandbox } from './sandbox-bench.js';
import { benchThroughput } from './throughput.js';
import { machineFacts } from './lib/machine.js';
import { renderTable, updateDoc } from './lib/report.js';
import { writeResults, type Metrics } from './lib/results.js';

/** `flags`: the command line's `--options`, for the benchmarks that take any (fleet). */
const VALUED = new Set(['--store', '--replicas', '--scenario', '--profile', '--steps', '--api-root']);

type Bench = (print: (line: string) => void, flags: readonly string[]) => Promise<Metrics>;

const BENCHES: Record<string, Bench> = {
  crypto: benchCrypto,
  masker: benchMasker,
  sandbox: benchSandbox,
  overhead: benchOverhead,
  pickup: benchPickup,
  prepull: benchPrepull,
  throughput: benchThroughput,
  logs: benchLogs,
  footprint: benchFootprint,
  api: benchApi,
  reserve: benchReserve,
  fleet: benchFleet,
  hud: benchHud,
};

async function main(args: string[]): Promise<number> {
  // `--x` and the value after the flags in VALUED are flags, the rest names.
  const flags: string[] = [];
  const argv: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a.startsWith('--')) {
      flags.push(a);
      if (VALUED.has(a) && args[i + 1] !== undefined) flags.push(args[++i] ?? '');
    } else argv.push(a);
  }
  const names = argv.length > 0 ? argv : Object.keys(BENCHES);
  const unknown = names.filter((n) => !(n in BENCHES));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}\n`);
    return 2;
  }
  const print = (line: string): void => void process.stdout.write(`${line}\n`);
  const machine = machineFacts();
  print(`machine: ${JSON.stringify(machine)}`);
  const all: Metrics = {};
  const failed: string[] = [];
  const started = performance.now();
  for (const name of names) {
    const bench = BENCHES[name];
    if (bench === undefined) continue;
    const t0 = performance.now();
    try {
      Object.assign(all, await bench(print, flags));
    } catch (err) {
      // One broken benchmark must not hide the others' results; it still fails the run.
      failed.push(name);
      print(`${name}: FAILED: ${err instanceof Error ? err.message : String(err)}`);
    }
    print(`  (${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  print(`total: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const file = path.join(root, 'bench/results/latest.json');
  writeResults(file, all, { ...machine });
  // Subsets keep the other benchmarks' earlier values (see writeResults); the table says which command ran last.
  const merged = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  updateDoc(path.join(root, 'docs/benchmarks.md'), renderTable(merged, `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`));
  const missed = Object.entries(all)
    .filter(([, m]) => m.ok === false)
    .map(([k]) => k);
  print(`results: ${file}${missed.length > 0 ? `; targets missed: ${missed.join(', ')}` : ''}`);
  return failed.length > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
