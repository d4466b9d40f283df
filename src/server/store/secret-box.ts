// Registry passwords at rest: AES-256-GCM with a key kept in its own 0600 file in the data dir
// (`secret.key`, made on first start). A copy of iron.db alone (a backup, a dump, a file handed
// around for debugging) then holds no usable password. It does not protect against a reader of the
// whole data dir: runners need the passwords in clear, so the key must live next to the database.
// Values written before this existed (plain JSON) are still read, and sealed at the next start.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IronError } from '../../errors.js';

const PREFIX = 'v1:';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** The data dir's key, created (0600) on first use. */
  static forDataDir(dataDir: string): SecretBox {
    const path = join(dataDir, 'secret.key');
    let key: Buffer;
    try {
      writeFileSync(path, randomBytes(KEY_BYTES), { flag: 'wx', mode: 0o600 });
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw new IronError('ERR_STORE', `cannot create ${path}`, { cause: err });
    }
    try {
      chmodSync(path, 0o600);
      key = readFileSync(path);
    } catch (err) {
      throw new IronError('ERR_STORE', `cannot read ${path}`, { cause: err });
    }
    if (key.length !== KEY_BYTES) throw new IronError('ERR_STORE', `${path} is not a ${KEY_BYTES}-byte key (restore it from a backup)`);
    return new SecretBox(key);
  }

  /** A box over a key kept elsewhere (the PostgreSQL store keeps it in the database, see postgres/index.ts). */
  static fromKey(key: Buffer): SecretBox {
    if (key.length !== KEY_BYTES) throw new IronError('ERR_STORE', `the stored secret key is not ${KEY_BYTES} bytes`);
    return new SecretBox(key);
  }

  static newKey(): Buffer {
    return randomBytes(KEY_BYTES);
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(PREFIX);
  }

  seal(plain: string): string {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return PREFIX + Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
  }

  /** The plaintext of a sealed value; a legacy plain value as it is. */
  open(stored: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new IronError('ERR_STORE', 'a sealed secret is too short');
    const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
    d.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([d.update(raw.subarray(IV_BYTES + TAG_BYTES)), d.final()]).toString('utf8');
    } catch (err) {
      throw new IronError('ERR_STORE', 'a sealed secret does not open with secret.key (was the key replaced?)', { cause: err });
    }
  }
}
