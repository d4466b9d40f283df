// A real pino logger (iron-api's own, with its redaction) whose JSON lines land in an array, for
// tests that check what the server logs.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

export function captureLog(lines: Array<Record<string, unknown>>, level: 'info' | 'debug' = 'info'): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return createLogger({ level, destination: sink });
}
