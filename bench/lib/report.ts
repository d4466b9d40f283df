// Renders the merged results into the table in docs/benchmarks.md, between two marker comments, so
// the document always shows what the last `npm run bench` measured (prose around it is kept).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Metric } from './results.js';

export const START = '<!-- bench-results:start (written by npm run bench) -->';
export const END = '<!-- bench-results:end -->';

function num(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

export function renderTable(results: Record<string, unknown>, command: string): string {
  const machine = (results['machine'] ?? {}) as Record<string, unknown>;
  const f = (k: string): string => {
    const v = machine[k];
    return typeof v === 'string' || typeof v === 'number' ? String(v) : '?';
  };
  const lines = [
    START,
    `Last run: ${f('written_at')}, command \`${command}\``,
    '',
    `Machine: ${f('cores')} cores (${f('cpu')}), ${f('memory_gib')} GiB, ` +
      `Docker ${f('docker_engine')} (${f('storage_driver')}, cgroup ${f('cgroup')}), ` +
      `Node ${f('node')}, OpenSSL ${f('openssl')}`,
    '',
    '| metric | value | unit | target | met |',
    '|---|---:|---|---:|---|',
  ];
  for (const [name, raw] of Object.entries(results)) {
    if (name === 'machine') continue;
    const m = raw as Metric;
    const target = m.target === undefined ? '' : `${m.direction === 'min' ? '>=' : '<='} ${num(m.target)}`;
    const met = m.ok === undefined ? '' : m.ok ? 'yes' : '**no**';
    lines.push(`| ${name} | ${num(m.value)} | ${m.unit} | ${target} | ${met} |`);
  }
  lines.push(END);
  return lines.join('\n');
}

/** Replaces the marked section of `docFile` (appends one when the markers are missing). */
export function updateDoc(docFile: string, table: string): void {
  const text = existsSync(docFile) ? readFileSync(docFile, 'utf8') : '# Benchmarks\n';
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  const next = a >= 0 && b > a ? `${text.slice(0, a)}${table}${text.slice(b + END.length)}` : `${text.trimEnd()}\n\n${table}\n`;
  writeFileSync(docFile, next);
}
