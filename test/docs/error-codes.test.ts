// docs/architecture.md's error-code table lists exactly the codes registered in src/errors.ts, each
// once, with the same default retryability: a code added, removed or changed in one place only fails here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';
import { REPO_ROOT } from '../helpers/vectors.js';

interface Row {
  code: string;
  retryable: boolean;
  meaning: string;
}

/** The rows of the table under "## Error codes": first cell a code in backticks, second yes or no. */
function documentedCodes(markdown: string): Row[] {
  const start = markdown.indexOf('\n## Error codes\n');
  if (start === -1) throw new Error('docs/architecture.md has no "## Error codes" section');
  const next = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, next === -1 ? undefined : next);
  const rows: Row[] = [];
  for (const line of section.split('\n')) {
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const code = /^`(ERR_[A-Z0-9_]+)`$/.exec(cells[0] ?? '')?.[1];
    if (code === undefined) continue;
    const flag = cells[1];
    if (flag !== 'yes' && flag !== 'no') throw new Error(`${code}: the Retryable cell must be yes or no (got ${JSON.stringify(flag)})`);
    rows.push({ code, retryable: flag === 'yes', meaning: cells[2] ?? '' });
  }
  return rows;
}

const doc = readFileSync(path.join(REPO_ROOT, 'docs/architecture.md'), 'utf8');

describe('error-code table (docs/architecture.md)', () => {
  const rows = documentedCodes(doc);

  it('lists every registered code exactly once, and nothing else', () => {
    const documented = rows.map((r) => r.code);
    expect(
      documented.filter((c, i) => documented.indexOf(c) !== i),
      'listed twice',
    ).toEqual([]);
    expect([...documented].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('gives each code the retryability src/errors.ts registers, and a meaning', () => {
    for (const r of rows) {
      expect(r.retryable, r.code).toBe(ERROR_CODES[r.code as keyof typeof ERROR_CODES].retryable);
      expect(r.meaning.length, `${r.code} has no meaning`).toBeGreaterThan(10);
    }
  });

  it('reads the table the way it is written (a row per line, yes/no)', () => {
    expect(documentedCodes('x\n## Error codes\n| Code | Retryable |\n|---|---|\n| `ERR_A` | yes | a meaning here |\n| `ERR_B` | no | another meaning |\n## Next\n| `ERR_C` | no | x |\n')).toEqual([
      { code: 'ERR_A', retryable: true, meaning: 'a meaning here' },
      { code: 'ERR_B', retryable: false, meaning: 'another meaning' },
    ]);
    expect(() => documentedCodes('\n## Error codes\n| `ERR_A` | maybe | m |\n')).toThrow(/yes or no/);
  });
});
