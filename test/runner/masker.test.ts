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
    expect(
      run(
        m,
        [...Buffer.from(text)].map((b) => Buffer.from([b])),
      ),
    ).toBe('user=bob pass=*** done\n');
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

/** Reference: every byte of every occurrence of every secret is masked; overlapping occurrences are one mask. */
function maskWhole(text: Buffer, secrets: readonly string[]): Buffer {
  const spans: Array<[number, number]> = [];
  for (const s of secrets) {
    const b = Buffer.from(s);
    if (b.length === 0) continue;
    for (let i = text.indexOf(b); i >= 0; i = text.indexOf(b, i + 1)) spans.push([i, i + b.length]);
  }
  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged: Array<[number, number]> = [];
  for (const [s, e] of spans) {
    const last = merged[merged.length - 1];
    if (last !== undefined && s < last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  const out: Buffer[] = [];
  let pos = 0;
  for (const [s, e] of merged) {
    out.push(text.subarray(pos, s), MASK);
    pos = e;
  }
  out.push(text.subarray(pos));
  return Buffer.concat(out);
}

function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(prev, p));
    prev = p;
  }
  return chunks;
}

describe('secret masking is linear and chunking-independent (issue 13 item 5)', () => {
  it('masking across arbitrary chunk splits equals masking the whole, overlapping secrets included (property)', () => {
    const secretsArb = fc.array(fc.stringMatching(/^[abc]{4,9}$/), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(secretsArb, fc.stringMatching(/^[abc\n]{0,200}$/), fc.array(fc.nat({ max: 400 }), { maxLength: 20 }), (secrets, text, cuts) => {
        const bytes = Buffer.from(text);
        const whole = maskWhole(bytes, secrets);
        const once = run(new SecretMasker(secrets), [bytes]);
        const chunked = run(new SecretMasker(secrets), split(bytes, cuts));
        const bytewise = run(
          new SecretMasker(secrets),
          [...bytes].map((b) => Buffer.from([b])),
        );
        return once === whole.toString() && chunked === once && bytewise === once;
      }),
      { numRuns: 3000 },
    );
  });

  it('holds back less than the longest secret, whatever the output', () => {
    const secret = 'q'.repeat(999) + 'Z';
    const m = new SecretMasker([secret]);
    let inBytes = 0;
    let outBytes = 0;
    for (let i = 0; i < 2000; i++) {
      const chunk = Buffer.from('q'.repeat(1 + (i % 7)));
      inBytes += chunk.length;
      outBytes += m.push(chunk).length;
      expect(inBytes - outBytes).toBeLessThan(secret.length);
    }
    expect(inBytes - outBytes).toBe(999);
    expect(m.flush().length).toBe(999);
  });

  it("the issue's attack (six ~130 KB secrets, output without newlines in small chunks) costs linear time", () => {
    const rnd = (n: number, seed: number): string => {
      let x = seed;
      let s = '';
      for (let i = 0; i < n; i++) {
        x = (x * 1103515245 + 12345) & 0x7fffffff;
        s += String.fromCharCode(97 + (x % 26));
      }
      return s;
    };
    const env = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`SECRET_${i}`, rnd(130_000, i + 1)]));
    const values = secretValues(env);
    const secret0 = env['SECRET_0'] ?? '';
    // Output that keeps the automaton deep: long prefixes of a secret, broken just before the end.
    const unit = Buffer.from(`${secret0.slice(0, 129_000)}#`);
    const cost = (mib: number): number => {
      const m = new SecretMasker(values);
      const t0 = performance.now();
      let left = mib * 1024 * 1024;
      let out = 0;
      for (let off = 0; left > 0; off = (off + 4096) % unit.length) {
        const chunk = unit.subarray(off, Math.min(unit.length, off + 4096));
        out += m.push(chunk).length;
        left -= chunk.length;
      }
      out += m.flush().length;
      expect(out).toBeGreaterThan(0);
      return performance.now() - t0;
    };
    cost(1); // warm-up: the JIT, and the automaton's typed arrays
    // The fastest of a few runs each: a busy shared machine only ever adds time, never removes it.
    const small = Math.min(cost(4), cost(4), cost(4));
    const large = Math.min(cost(16), cost(16));
    // Generous: a quadratic masker grows ~16x for 4x the output; linear ~4x. And 16 MiB well within 60 s.
    expect(large / small).toBeLessThan(9);
    expect(large).toBeLessThan(60_000);
    const whole = new SecretMasker(values);
    const text = Buffer.concat([Buffer.from('pre '), Buffer.from(env['SECRET_3'] ?? ''), Buffer.from(' post')]);
    expect(run(whole, split(text, [1, 70_000, 70_001, 129_999]))).toBe('pre *** post');
  });
});
