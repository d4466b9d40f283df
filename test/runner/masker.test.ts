import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MASK, SecretMasker, secretValues } from '../../src/runner/masker.js';

function run(masker: SecretMasker, chunks: Buffer[]): string {
  return Buffer.concat([...chunks.map((c) => masker.push(c)), masker.flush()]).toString();
}

describe('secret masking of task output', () => {
  it('picks values of secret-looking env var names, with their JSON and base64 forms', () => {
    const v = secretValues({ DB_PASSWORD: 'hunter2-x"y', API_KEY: 'k3y-value', GITHUB_TOKEN: 'ghp_abc', REGION: 'eu-west-1', PIN_SECRET: 'abc' });
    expect(v).toContain('hunter2-x"y');
    expect(v).toContain('hunter2-x\\"y');
    expect(v).toContain(Buffer.from('hunter2-x"y').toString('base64').replace(/=+$/, ''));
    expect(v).toContain('k3y-value');
    expect(v).toContain('ghp_abc');
    expect(v).not.toContain('eu-west-1'); // not a secret by name
    expect(v).not.toContain('abc'); // too short to mask safely
  });

  it('masks a secret split across chunks, byte by byte', () => {
    const m = new SecretMasker(['hunter2-secret']);
    const text = 'user=bob pass=hunter2-secret done\n';
    expect(run(m, [...Buffer.from(text)].map((b) => Buffer.from([b])))).toBe('user=bob pass=*** done\n');
  });

  it('emits everything that cannot start a secret at once (live logs stay live)', () => {
    const m = new SecretMasker(['hunter2-secret']);
    expect(m.push(Buffer.from('line one\nline two\n')).toString()).toBe('line one\nline two\n');
    expect(m.push(Buffer.from('about to print hun')).toString()).toBe('about to print ');
    expect(m.push(Buffer.from('gry\n')).toString()).toBe('hungry\n');
  });

  it('equals whole-text replacement for any split of any text (property)', () => {
    const secrets = ['s3cr3t', 'pa$$word!', 'xyzzy-token'];
    const piece = fc.oneof(fc.constantFrom(...secrets, 's3c', 'pa$$', 'xyz', '\n'), fc.string({ maxLength: 8 }));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), fc.array(fc.nat({ max: 400 }), { maxLength: 10 }), (pieces, cuts) => {
        const text = pieces.join('');
        const bytes = Buffer.from(text);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const p of [...points, bytes.length]) {
          chunks.push(bytes.subarray(prev, p));
          prev = p;
        }
        let expected = bytes.toString('latin1');
        // Reference: repeatedly replace the leftmost (longest) secret.
        const sorted = [...secrets].sort((a, b) => b.length - a.length).map((s) => Buffer.from(s).toString('latin1'));
        let out = '';
        while (expected.length > 0) {
          let best = -1;
          let len = 0;
          for (const s of sorted) {
            const i = expected.indexOf(s);
            if (i >= 0 && (best < 0 || i < best)) {
              best = i;
              len = s.length;
            }
          }
          if (best < 0) {
            out += expected;
            break;
          }
          out += expected.slice(0, best) + MASK.toString('latin1');
          expected = expected.slice(best + len);
        }
        expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
        return run(new SecretMasker(secrets), chunks) === Buffer.from(out, 'latin1').toString();
      }),
      { numRuns: 2000 },
    );
  });

  it('is a no-op without secrets', () => {
    const m = new SecretMasker([]);
    const chunk = Buffer.from('anything');
    expect(m.push(chunk)).toBe(chunk);
    expect(m.active).toBe(false);
  });
});
