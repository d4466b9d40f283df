// The CLI's quoting and the runner's reading of a command agree with a real sh: for any argv,
// `sh -c "$(shellJoin argv)"` runs exactly argv, and the runner runs the same argv without a shell.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellJoin } from '../../src/cli/shell-words.js';
import { parseCommand, splitCommand } from '../../src/runner/command.js';

const ARGVS: string[][] = [
  ['sh', '-c', 'echo a; echo b'],
  ['printf', '[%s]\\n', 'two  spaces', "it's", '$HOME', '', '*', '~', '#x', 'a\nb', '\\', '"q"', '`id`', 'x=1'],
  ['FOO=bar', 'baz'],
  ['if', 'then'],
  ['--opt=val', 'plain/path:1.2,@%+'],
];

/** What a real sh runs for a command string: each argument printed NUL-terminated by the shell itself. */
function shArgv(command: string): string[] {
  const out = execFileSync('sh', ['-c', `set -- ${command}; for a in "$@"; do printf '%s\\0' "$a"; done`]).toString();
  return out.split('\0').slice(0, -1);
}

describe('shellJoin -> sh and the runner', () => {
  for (const argv of ARGVS) {
    it(JSON.stringify(argv), () => {
      const joined = shellJoin(argv);
      expect(shArgv(joined)).toEqual(argv);
      expect(parseCommand(joined)).toEqual({ words: argv, needsShell: false });
      expect(splitCommand(joined)).toEqual(argv);
    });
  }
});

describe("the runner's reading of a command string (Iron ran `sh -c COMMAND`)", () => {
  it('runs commands with shell syntax through sh, unchanged', () => {
    for (const c of [
      'echo a; echo b',
      'a | b',
      'a && b',
      'a > f',
      'echo $HOME',
      'echo "$X"',
      'echo `id`',
      'ls *.rb',
      'FOO=1 cmd',
      '# comment',
      'cd ~',
      'if true; then x; fi',
      'echo (x)',
      "echo 'unterminated",
      'a\nb',
    ]) {
      expect(splitCommand(c), c).toEqual(['sh', '-c', c]);
    }
  });

  it('splits plain words as sh would and runs them directly', () => {
    expect(splitCommand('ruby helloworld.rb')).toEqual(['ruby', 'helloworld.rb']);
    expect(splitCommand(`node -e 'console.log(1; 2)'`)).toEqual(['node', '-e', 'console.log(1; 2)']);
    expect(splitCommand('echo "a  b" c\\ d --x=1')).toEqual(['echo', 'a  b', 'c d', '--x=1']);
    expect(splitCommand('')).toBeUndefined();
    expect(splitCommand('   ')).toBeUndefined();
  });
});
