// Masks the values of secret-looking env_vars in a job's output before it reaches the task log.
// Output arrives in arbitrary chunks, so a secret may be split across them: the masker holds back
// only the shortest tail that could still be the start of a secret, and emits everything else at once.

const SECRET_NAME = /PASS(WORD|WD)?|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|AUTH/i;
/** Shorter values would mask ordinary words all over the log. */
const MIN_SECRET_LENGTH = 4;
export const MASK = Buffer.from('***');

/** The values worth masking: those of env vars whose names look secret, and their common encodings. */
export function secretValues(env: Readonly<Record<string, string>>): string[] {
  const out = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (!SECRET_NAME.test(name) || value.length < MIN_SECRET_LENGTH) continue;
    out.add(value);
    // A job that prints its config as JSON or base64 shows the value in these forms.
    const json = JSON.stringify(value).slice(1, -1);
    if (json !== value) out.add(json);
    out.add(Buffer.from(value).toString('base64').replace(/=+$/, ''));
    for (const line of value.split('\n')) if (line.trim().length >= MIN_SECRET_LENGTH && line !== value) out.add(line.trim());
  }
  return [...out];
}

export class SecretMasker {
  private readonly secrets: Buffer[];
  private pending = Buffer.alloc(0);

  constructor(values: readonly string[]) {
    // Longest first, so a secret that contains another is masked whole.
    this.secrets = values.map((v) => Buffer.from(v)).filter((b) => b.length > 0).sort((a, b) => b.length - a.length);
  }

  get active(): boolean {
    return this.secrets.length > 0;
  }

  /** Bytes safe to emit now. */
  push(chunk: Buffer): Buffer {
    if (this.secrets.length === 0) return chunk;
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const { out, consumed } = this.mask(data, data.length - this.holdBack(data));
    this.pending = Buffer.from(data.subarray(consumed));
    return out;
  }

  /** Everything still held back (end of output). */
  flush(): Buffer {
    const { out } = this.mask(this.pending, this.pending.length);
    this.pending = Buffer.alloc(0);
    return out;
  }

  /** Masks matches that start before `safeEnd`; returns the output and how many input bytes it covers. */
  private mask(data: Buffer, safeEnd: number): { out: Buffer; consumed: number } {
    const parts: Buffer[] = [];
    let pos = 0;
    for (;;) {
      let best = -1;
      let bestLen = 0;
      for (const s of this.secrets) {
        const i = data.indexOf(s, pos);
        if (i >= 0 && i < safeEnd && (best < 0 || i < best || (i === best && s.length > bestLen))) {
          best = i;
          bestLen = s.length;
        }
      }
      if (best < 0) break;
      parts.push(data.subarray(pos, best), MASK);
      pos = best + bestLen;
    }
    const end = Math.max(pos, safeEnd);
    parts.push(data.subarray(pos, end));
    return { out: Buffer.concat(parts), consumed: end };
  }

  /** Length of the longest tail of `data` that is a proper prefix of some secret. */
  private holdBack(data: Buffer): number {
    let hold = 0;
    for (const s of this.secrets) {
      for (let k = Math.min(s.length - 1, data.length); k > hold; k--) {
        if (data.subarray(data.length - k).equals(s.subarray(0, k))) {
          hold = k;
          break;
        }
      }
    }
    return hold;
  }
}
