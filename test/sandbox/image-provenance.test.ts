// The private-image record: which references count as the same repository, which as an image id,
// and that the record survives a restart (and a corrupt file does not stop the runner).
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageProvenance, isIdRef, repositoryOf, scopeKey } from '../../src/sandbox/image-provenance.js';
import { silentLogger } from '../../src/log.js';

const dir = mkdtempSync(path.join(tmpdir(), 'iron-provenance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ID = `sha256:${'ab12'.repeat(16)}`;

describe('image provenance', () => {
  it('normalizes references to repositories the way Docker resolves them', () => {
    expect(repositoryOf('busybox')).toBe('docker.io/library/busybox');
    expect(repositoryOf('busybox:1')).toBe('docker.io/library/busybox');
    expect(repositoryOf('docker.io/library/busybox:1')).toBe('docker.io/library/busybox');
    expect(repositoryOf('index.docker.io/team/app')).toBe('docker.io/team/app');
    expect(repositoryOf('team/app@sha256:' + 'c'.repeat(64))).toBe('docker.io/team/app');
    expect(repositoryOf('127.0.0.1:5000/a/b:tag')).toBe('127.0.0.1:5000/a/b');
    expect(repositoryOf('localhost/a')).toBe('localhost/a');
  });

  it('recognizes id references (full, sha256: prefixed, short prefix) only for the image they resolve to', () => {
    expect(isIdRef(ID, ID)).toBe(true);
    expect(isIdRef('ab12ab12ab12', ID)).toBe(true);
    expect(isIdRef('sha256:ab12ab', ID)).toBe(true);
    expect(isIdRef('ffffff', ID)).toBe(false);
    expect(isIdRef('busybox', ID)).toBe(false);
  });

  it('treats a repository pulled with credentials as private for every reference to it, and per scope', async () => {
    const file = path.join(dir, 'a.json');
    const p = new ImageProvenance(file, silentLogger());
    await p.load(AbortSignal.timeout(5_000));
    const a = scopeKey('project-a', { username: 'u', password: 'p' });
    await p.recordPrivate('reg:5000/team/app:1', ID, a);
    expect(p.isPrivate('reg:5000/team/app:2', 'sha256:other')).toBe(true);
    expect(p.isPrivate('ab12ab12ab12', ID)).toBe(true);
    expect(p.checkRef('ab12ab12ab12', ID)).toBe('reg:5000/team/app:1');
    expect(p.isPrivate('busybox:1', ID)).toBe(false);
    expect(p.isVerified(ID, a)).toBe(true);
    expect(p.isVerified(ID, scopeKey('project-b', undefined))).toBe(false);
    // The same project with another credential is another scope.
    expect(p.isVerified(ID, scopeKey('project-a', { username: 'u', password: 'other' }))).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain('"p"');

    const restarted = new ImageProvenance(file, silentLogger());
    await restarted.load(AbortSignal.timeout(5_000));
    expect(restarted.isPrivate('reg:5000/team/app:1', ID)).toBe(true);
    expect(restarted.isVerified(ID, a)).toBe(false);
  });

  it('starts empty on a corrupt record', async () => {
    const file = path.join(dir, 'corrupt.json');
    writeFileSync(file, '{not json');
    const p = new ImageProvenance(file, silentLogger());
    await p.load(AbortSignal.timeout(5_000));
    expect(p.isPrivate('reg:5000/team/app:1', ID)).toBe(false);
  });
});
