// `iron keygen`: an RSA key pair for payload encryption, made locally (no API call at all).
import { generateKeyPair } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IronError } from '../../errors.js';
import type { Command } from '../command.js';
import { EXIT } from '../command.js';

const generate = promisify(generateKeyPair);
const KEY_BITS = [1024, 2048, 3072, 4096, 8192];

async function writeKeyFile(path: string, text: string, mode: number, force: boolean): Promise<void> {
  try {
    await writeFile(path, text, { mode, flag: force ? 'w' : 'wx' });
    // The umask may have taken bits away (or an overwritten file kept old ones): set exactly.
    await chmod(path, mode);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'write error';
    const hint = code === 'EEXIST' ? ' (already exists; pass --force to overwrite)' : '';
    throw new IronError('ERR_CLI_FILE', `cannot write ${path}: ${code}${hint}`, { details: { path, reason: code } });
  }
}

export const keygenCommand: Command = {
  path: ['keygen'],
  summary: 'make an RSA key pair for payload encryption',
  synopsis: '[--bits 4096] --out DIR',
  details:
    'Writes DIR/private_key.pem (PKCS#8, mode 0600: give it to the runners as DECRYPTION_KEY) and\n' +
    'DIR/public_key.pem (SPKI, mode 0644: queue with --encryption-key-file DIR/public_key.pem), the same\n' +
    'files as `openssl genpkey -algorithm RSA -out private_key.pem 4096; openssl rsa -pubout ...`.',
  options: [
    { name: 'bits', type: 'string', arg: 'N', help: `key size (${KEY_BITS.join(', ')}; default 4096)` },
    { name: 'out', short: 'o', type: 'string', arg: 'DIR', help: 'directory for the two files (created if missing)' },
    { name: 'force', type: 'boolean', help: 'overwrite existing key files' },
  ],
  async run(ctx, o, args) {
    if (args.length > 0) throw o.fail(`unexpected argument ${JSON.stringify(args[0])}`);
    const dir = o.str('out');
    if (dir === undefined || dir === '') throw o.fail('--out DIR is required');
    const bits = o.int('bits', 1024, 8192) ?? 4096;
    if (!KEY_BITS.includes(bits)) throw o.fail(`--bits must be one of ${KEY_BITS.join(', ')}`);
    const { privateKey, publicKey } = await generate('rsa', {
      modulusLength: bits,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new IronError('ERR_CLI_FILE', `cannot create ${dir}: ${(err as { code?: string }).code ?? 'error'}`, { details: { path: dir } });
    }
    const privPath = join(dir, 'private_key.pem');
    const pubPath = join(dir, 'public_key.pem');
    await writeKeyFile(privPath, privateKey, 0o600, o.flag('force'));
    await writeKeyFile(pubPath, publicKey, 0o644, o.flag('force'));
    ctx.out.write(`Wrote ${privPath} (private, ${bits} bits, keep it secret: runners' DECRYPTION_KEY)\n`);
    ctx.out.write(`Wrote ${pubPath} (public: iron worker queue --encryption-key-file ${pubPath} ...)\n`);
    return EXIT.OK;
  },
};
