import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigReader, deepFreeze } from '../../src/config/reader.js';
import { isIronError } from '../../src/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'iron-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ConfigReader', () => {
  it('collects every problem and reports them in one error', () => {
    const r = new ConfigReader({ A: 'x', B: '12Q', C: 'maybe', D: 'ftp://x' });
    r.required('MISSING');
    r.int('A', 1, 1, 10);
    r.size('B', 1);
    r.bool('C', false);
    r.url('D', 'http://127.0.0.1:8080');
    let caught: unknown;
    try {
      r.finish('test');
    } catch (err) {
      caught = err;
    }
    expect(isIronError(caught, 'ERR_CONFIG_INVALID')).toBe(true);
    const msg = (caught as Error).message;
    for (const name of ['MISSING', 'A', 'B', 'C', 'D']) expect(msg).toContain(name);
    expect(r.problems).toHaveLength(5);
  });

  it('reads secrets inline or from *_FILE and never puts the value in a problem', () => {
    const file = path.join(dir, 'token');
    writeFileSync(file, 's3cret-file\n');
    expect(new ConfigReader({ TOKEN: 's3cret' }).secret('TOKEN')).toBe('s3cret');
    expect(new ConfigReader({ TOKEN_FILE: file }).secret('TOKEN')).toBe('s3cret-file\n');
    const both = new ConfigReader({ TOKEN: 's3cret', TOKEN_FILE: file });
    both.secret('TOKEN');
    expect(both.problems.join()).not.toContain('s3cret');
    const missing = new ConfigReader({ TOKEN_FILE: path.join(dir, 'nope') });
    missing.secret('TOKEN');
    expect(missing.problems[0]).toContain('ENOENT');
    const required = new ConfigReader({});
    required.secret('TOKEN', { required: true });
    expect(required.problems[0]).toContain('TOKEN_FILE');
  });

  it('returns defaults for unset or empty variables', () => {
    const r = new ConfigReader({ EMPTY: '' });
    expect(r.int('EMPTY', 7, 0, 10)).toBe(7);
    expect(r.durationMs('UNSET', 1500)).toBe(1500);
    expect(r.oneOf('UNSET', ['a', 'b'] as const, 'b')).toBe('b');
    expect(r.problems).toEqual([]);
  });

  it('deep-freezes config objects', () => {
    const cfg = deepFreeze({ a: { b: [1, 2] }, u: new URL('http://x') });
    expect(Object.isFrozen(cfg.a)).toBe(true);
    expect(Object.isFrozen(cfg.a.b)).toBe(true);
    expect(() => {
      cfg.a.b.push(3);
    }).toThrow();
  });
});
