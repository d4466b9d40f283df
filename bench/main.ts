// `npm run bench [-- name...]`: runs the named benchmarks (all by default), prints human-readable
// lines with machine facts, and merges the metrics into bench/results/latest.json.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCrypto } from './crypto.js';
import { machineFacts } from './lib/machine.js';
import { writeResults, type Metrics } from './lib/results.js';

type Bench = (print: (line: string) => void) => Promise<Metrics>;

const BENCHES: Record<string, Bench> = {
  crypto: benchCrypto,
};

async function main(argv: string[]): Promise<number> {
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
  for (const name of names) {
    const bench = BENCHES[name];
    if (bench !== undefined) Object.assign(all, await bench(print));
  }
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const file = path.join(root, 'bench/results/latest.json');
  writeResults(file, all, { ...machine });
  const missed = Object.entries(all).filter(([, m]) => m.ok === false).map(([k]) => k);
  print(`results: ${file}${missed.length > 0 ? `; targets missed: ${missed.join(', ')}` : ''}`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
