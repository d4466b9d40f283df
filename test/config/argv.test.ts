// The shared argv scanner and the three command lines built on it (iron-api, iron-runner exec; the
// iron CLI's Go-flag manners are in test/cli/config-args.test.ts): every form each one accepted
// before the scanner was shared, and every problem it reported.
import { describe, expect, it } from 'vitest';
import { scanArgv } from '../../src/config/argv.js';
import { parseArgs, unknownFlags } from '../../src/config/server.js';
import { parseExecArgs } from '../../src/runner/exec-args.js';

describe('scanArgv', () => {
  const known = (name: string): 'value' | 'switch' | undefined => (name === 'v' || name === 'value' ? 'value' : name === 'on' ? 'switch' : undefined);

  it('splits flags, inline and next-word values, positionals and the words after --', () => {
    expect(scanArgv(['--value', '-----BEGIN', '--value=a=b', '--on', 'pos', '-', '--', '--on', 'x'], { dashes: 'gnu', kind: known })).toEqual([
      { type: 'flag', name: 'value', word: '--value', value: '-----BEGIN' },
      { type: 'flag', name: 'value', word: '--value=a=b', value: 'a=b' },
      { type: 'flag', name: 'on', word: '--on', value: undefined },
      { type: 'positional', value: 'pos' },
      { type: 'positional', value: '-' },
      { type: 'end', rest: ['--on', 'x'] },
    ]);
  });

  it('reads one dash as two in go mode, and as a short alias or unknown in gnu mode', () => {
    expect(scanArgv(['-value', 'x', '-on'], { dashes: 'go', kind: known }).map((t) => t.type)).toEqual(['flag', 'flag']);
    expect(scanArgv(['-v', 'x', '-o', '--nope=1'], { dashes: 'gnu', short: { o: 'on' }, kind: known })).toEqual([
      { type: 'unknown', word: '-v' },
      { type: 'positional', value: 'x' },
      { type: 'flag', name: 'on', word: '-o', value: undefined },
      { type: 'unknown', word: '--nope=1' },
    ]);
  });

  it('reports a value flag at the end as missing its value, and stops at the first positional when asked', () => {
    expect(scanArgv(['--value'], { dashes: 'gnu', kind: known })).toEqual([{ type: 'missing-value', name: 'value', word: '--value' }]);
    expect(scanArgv(['--on', 'img', '--on', '--', 'x'], { dashes: 'go', kind: known, stopAtPositional: true }).map((t) => (t.type === 'positional' ? t.value : t.type))).toEqual([
      'flag',
      'img',
      '--on',
      '--',
      'x',
    ]);
  });
});

describe('iron-api parseArgs', () => {
  it('takes --name value and --name=value, -h/-v and positionals; a value may look like a flag', () => {
    const a = parseArgs(['token', 'create', '--project', 'p', '--data-dir=/d', '-h', '--port', '--version']);
    expect(a).toEqual({ flags: { project: 'p', 'data-dir': '/d', port: '--version' }, positionals: ['token', 'create'], help: true, version: false, problems: [] });
    expect(parseArgs(['-v']).version).toBe(true);
  });

  it('reports single-dash words, a missing value and -- as problems, and keeps unknown long flags for the form check', () => {
    expect(parseArgs(['-x', '--', 'y']).problems).toEqual(['unknown flag -x', 'unknown flag --']);
    expect(parseArgs(['--port']).problems).toEqual(['flag --port needs a value']);
    const typo = parseArgs(['--prot', '9999', '--help=yes']);
    expect(typo.help).toBe(false);
    expect(unknownFlags(typo)).toEqual(['--prot', '--help']);
    expect(unknownFlags(parseArgs(['cluster', 'create', '--project-id', 'p', '--name', 'n', '--port', '1']))).toEqual(['--port']);
  });
});

describe('iron-runner exec parseExecArgs', () => {
  it('takes --flag value, --flag=value, repeated --env and the command after --', () => {
    const r = parseExecArgs(['--image', 'img', '--env=A=1', '--env', 'B=-2', '--memory', '64M', '--', 'sh', '-c', 'echo --image'], {});
    expect([r.image, r.env, r.memoryBytes, r.command]).toEqual(['img', { A: '1', B: '-2' }, 64 * 1024 * 1024, ['sh', '-c', 'echo --image']]);
  });

  it('collects every problem in one ERR_CONFIG_INVALID', () => {
    let err: unknown;
    try {
      parseExecArgs(['stray', '-x', '--bogus=1', '--image', 'a', '--image', 'b', '--grace'], {});
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ERR_CONFIG_INVALID' });
    const msg = (err as Error).message;
    for (const p of ['unknown argument "stray"', 'unknown argument "-x"', 'unknown argument "--bogus=1"', '--grace needs a value', '--image given more than once']) {
      expect(msg).toContain(p);
    }
  });
});
