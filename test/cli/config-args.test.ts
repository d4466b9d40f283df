import { describe, expect, it } from 'vitest';
import { loadCliConfig } from '../../src/config/cli.js';
import { isIronError } from '../../src/errors.js';
import { parseArgs, type OptSpec } from '../../src/cli/args.js';
import { defaultCodeName } from '../../src/cli/commands/register.js';
import { normalizePem } from '../../src/cli/payload.js';

function files(map: Record<string, string>): (p: string) => string {
  return (p) => {
    const v = map[p];
    if (v === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return v;
  };
}

describe('loadCliConfig precedence: flags > env > ./iron.json > ~/.iron.json', () => {
  const home = JSON.stringify({ token: 'home-t', project_id: 'home-p', host: 'home.example', port: 8443 });
  const cwd = JSON.stringify({ token: 'cwd-t', iron_worker: { project_id: 'cwd-p' } });

  it('takes each key from the first source that sets it', () => {
    const cfg = loadCliConfig({
      flags: { token: 'flag-t' },
      env: { IRON_HOST: 'env.example', IRON_SCHEME: 'http' },
      cwd: '/w',
      home: '/h',
      readFile: files({ '/w/iron.json': cwd, '/h/.iron.json': home }),
    });
    expect(cfg).toMatchObject({ token: 'flag-t', projectId: 'cwd-p', baseUrl: 'http://env.example:8443', files: ['/w/iron.json', '/h/.iron.json'] });
  });

  it('falls back to ~/.iron.json and a local iron-api', () => {
    const cfg = loadCliConfig({ flags: {}, env: {}, cwd: '/w', home: '/h', readFile: files({ '/h/.iron.json': JSON.stringify({ token: 't', project_id: 'p' }) }) });
    expect(cfg.baseUrl).toBe('http://127.0.0.1:8080');
    // A host given without scheme or port means Iron's usual https on 443.
    const remote = loadCliConfig({ flags: {}, env: { IRON_HOST: 'iron.example' }, cwd: '/w', home: '/h', readFile: files({ '/h/.iron.json': JSON.stringify({ token: 't', project_id: 'p' }) }) });
    expect(remote.baseUrl).toBe('https://iron.example:443');
  });

  it('nothing configured: ERR_CLI_NOT_CONFIGURED naming the sources', () => {
    let err: unknown;
    try {
      loadCliConfig({ flags: {}, env: {}, cwd: '/w', home: '/h', readFile: files({}) });
    } catch (e) {
      err = e;
    }
    expect(isIronError(err, 'ERR_CLI_NOT_CONFIGURED')).toBe(true);
    expect(String((err as Error).message)).toMatch(/IRON_TOKEN.*iron\.json/s);
  });

  it('collects every problem into one ERR_CONFIG_INVALID without echoing the token', () => {
    let err: unknown;
    try {
      loadCliConfig({ flags: {}, env: { IRON_TOKEN: 'sekrit-token', IRON_PROJECT_ID: 'p', IRON_PORT: '99999', IRON_SCHEME: 'ftp' }, cwd: '/w', home: undefined, readFile: files({}) });
    } catch (e) {
      err = e;
    }
    expect(isIronError(err, 'ERR_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain('port');
    expect((err as Error).message).toContain('scheme');
    expect((err as Error).message).not.toContain('sekrit-token');
  });

  it('passes proxy settings through from the environment', () => {
    const cfg = loadCliConfig({ flags: {}, env: { IRON_TOKEN: 't', IRON_PROJECT_ID: 'p', https_proxy: 'http://proxy:3128', NO_PROXY: 'localhost' }, cwd: '/w', home: undefined, readFile: files({}) });
    expect(cfg.proxy).toEqual({ httpsProxy: 'http://proxy:3128', noProxy: 'localhost' });
    expect(Object.isFrozen(cfg)).toBe(true);
  });
});

describe('parseArgs (Go-flag manners)', () => {
  const specs: OptSpec[] = [
    { name: 'payload', type: 'string' },
    { name: 'wait', type: 'boolean' },
    { name: 'n', type: 'string' },
    { name: 'env', short: 'e', type: 'string', multiple: true },
  ];

  it('accepts -long, --long, --long=value, and takes a value starting with "-"', () => {
    const p = parseArgs(['-payload', 'x', '--wait', '-n', '3', '--env=A=1', '-e', 'B=2', 'code', 'tail'], specs, { command: 't' });
    expect(p.values).toEqual({ payload: 'x', wait: true, n: '3', env: ['A=1', 'B=2'] });
    expect(p.positionals).toEqual(['code', 'tail']);
    expect(parseArgs(['--payload', '-----BEGIN PUBLIC KEY-----'], specs, { command: 't' }).values.payload).toBe('-----BEGIN PUBLIC KEY-----');
  });

  it('stops at the first positional when asked (register IMAGE CMD --flags)', () => {
    const p = parseArgs(['-e', 'A=1', 'img', 'echo', '--wait', '-n'], specs, { command: 't', stopAtPositional: true });
    expect(p.positionals).toEqual(['img', 'echo', '--wait', '-n']);
  });

  it('rejects unknown options and missing values with ERR_CLI_USAGE', () => {
    expect(() => parseArgs(['--nope'], specs, { command: 't' })).toThrow(expect.objectContaining({ code: 'ERR_CLI_USAGE' }) as Error);
    expect(() => parseArgs(['--payload'], specs, { command: 't' })).toThrow(expect.objectContaining({ code: 'ERR_CLI_USAGE' }) as Error);
  });
});

describe('small helpers', () => {
  it('defaultCodeName strips a tag or digest but not a registry port', () => {
    expect(defaultCodeName('iron/hello')).toBe('iron/hello');
    expect(defaultCodeName('iron/hello:1.0')).toBe('iron/hello');
    expect(defaultCodeName('localhost:5000/team/app:2')).toBe('localhost:5000/team/app');
    expect(defaultCodeName('localhost:5000/app')).toBe('localhost:5000/app');
    expect(defaultCodeName('app@sha256:abcd')).toBe('app');
  });

  it('normalizePem restores the line structure of a word-split PEM', () => {
    const pem = '-----BEGIN PUBLIC KEY-----\nAAAA\nBBBB\n-----END PUBLIC KEY-----\n';
    expect(normalizePem(pem.replace(/\n/g, ' '))).toBe('-----BEGIN PUBLIC KEY-----\nAAAABBBB\n-----END PUBLIC KEY-----\n');
    expect(normalizePem('garbage')).toBe('garbage');
  });
});
