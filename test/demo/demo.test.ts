// The README's main job (`scripts/dev demo` runs scripts/demo after setup) works as written: iron-api,
// an encrypted-cluster iron-runner and the seed's CLI flow, ending with the task's log.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/vectors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'iron-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scripts/demo', () => {
  it('runs the seed flow: register iron/hello, queue an encrypted task with --wait, print its log', async () => {
    const { stdout, stderr } = await promisify(execFile)('bash', [path.join(REPO_ROOT, 'scripts/demo'), 'demo-payload-42'], {
      env: { ...process.env, DEMO_DIR: dir },
      timeout: 90_000,
    });
    expect(stdout).toContain('$ iron register iron/hello');
    expect(stderr).toMatch(/task [0-9a-f]{24}: complete/); // status lines go to stderr, the log to stdout
    expect(stdout).toMatch(/Hello from iron\/hello \(task [0-9a-f]{24}\)/);
    expect(stdout).toContain('payload: demo-payload-42');
    expect(stdout).toContain('demo complete');
  }, 120_000);
});
