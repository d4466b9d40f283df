// PEM text as users paste it: from files, from `-e "DECRYPTION_KEY=$(cat key.pem)"`, with CRLFs, or
// flattened onto one line by an unquoted shell expansion. We rebuild the canonical line structure so
// all of these load.

export interface PemBlock {
  readonly label: string;
  /** A legacy OpenSSL key encrypted with a passphrase (Proc-Type: 4,ENCRYPTED). */
  readonly legacyEncrypted: boolean;
  readonly text: string;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/;

/** The first PEM block in `input`, normalised; undefined when there is none. */
export function firstPemBlock(input: string): PemBlock | undefined {
  const m = BLOCK.exec(input);
  if (m === null) return undefined;
  const label = m[1] ?? '';
  const inner = m[2] ?? '';
  const lines = inner.replace(/\s+/g, '').match(/.{1,64}/g) ?? [];
  return {
    label,
    legacyEncrypted: /Proc-Type:\s*4,ENCRYPTED/.test(inner),
    text: `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`,
  };
}
