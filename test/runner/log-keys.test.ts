// pino writes level, time, pid, name and msg itself; a log object with one of those keys used to
// produce a line with the key twice (JSON parsers keep the last one).
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { parseStrictJson } from '../helpers/strict-json.js';

describe('log lines', () => {
  it('never carry a key twice, and keep both values', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    const log = createLogger({ name: 'iron-runner', destination: destination as unknown as NodeJS.WritableStream & { write(s: string): boolean } });
    log.info({ msg: 'exit code 3', name: 'default', status: 'error' }, 'task finished');
    log.child({ component: 'c' }).warn({ level: 'custom', time: 1, pid: 7 }, 'from a child');
    expect(lines).toHaveLength(2);
    const [a, b] = lines.map((l) => parseStrictJson(l) as Record<string, unknown>);
    expect(a).toMatchObject({ msg: 'task finished', name: 'iron-runner', msg_: 'exit code 3', name_: 'default', status: 'error' });
    expect(b).toMatchObject({ msg: 'from a child', level: 'warn', name: 'iron-runner', component: 'c', pid_: 7, level_: 'custom', time_: 1 });
  });

  it('the strict parser rejects a duplicate key and accepts plain JSON', () => {
    expect(() => parseStrictJson('{"msg":"a","x":{"k":1,"k":2}}')).toThrow(/duplicate key "k"/);
    expect(parseStrictJson('{"a":[1,2.5e3,"x\\"y",true,null,{}],"b":-0.1}')).toEqual({ a: [1, 2500, 'x"y', true, null, {}], b: -0.1 });
  });
});
