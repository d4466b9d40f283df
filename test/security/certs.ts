// A private CA and a server certificate for 127.0.0.1/localhost, made with the openssl CLI in a temp
// dir, plus a second unrelated CA (the "wrong CA"). Nothing here touches the system trust store.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestPki {
  dir: string;
  caFile: string;
  wrongCaFile: string;
  certFile: string;
  keyFile: string;
  /** A key that does not belong to the certificate. */
  otherKeyFile: string;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=iron-test ${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`], dir);
}

export function makePki(): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'iron-sec-pki-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'wrong-ca');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr'], dir);
  writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'server.pem'], dir);
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'other.key'], dir);
  const f = (n: string): string => path.join(dir, n);
  return {
    dir,
    caFile: f('ca.pem'),
    wrongCaFile: f('wrong-ca.pem'),
    certFile: f('server.pem'),
    keyFile: f('server.key'),
    otherKeyFile: f('other.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const pem = (file: string): string => readFileSync(file, 'utf8');
