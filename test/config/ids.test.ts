// The instance id rule (src/ids.ts) is the one config, the runner's state file and the sandbox check.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isInstanceId, isObjectId } from '../../src/ids.js';
import { loadRunnerConfig } from '../../src/config/runner.js';
import { loadInstanceId } from '../../src/runner/instance.js';

describe('instance ids', () => {
  it('accepts the generated form, exec form and operator names; refuses what Docker names cannot hold', () => {
    for (const ok of ['r-0123456789abcdef', `exec-${'h'.repeat(40)}-4194304-abcdef`, 'runner.eu-1_a', 'x']) expect(isInstanceId(ok), ok).toBe(true);
    for (const bad of ['', '-lead', '.lead', 'has:colon', 'has space', 'a'.repeat(64), 'ü']) expect(isInstanceId(bad), bad).toBe(false);
  });

  it('a state file with an id outside the rule is refused, a missing one is created inside it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'iron-ids-'));
    try {
      const id = await loadInstanceId(dir);
      expect(isInstanceId(id)).toBe(true);
      expect(await loadInstanceId(dir)).toBe(id);
      await writeFile(path.join(dir, 'instance-id'), '-bad\n');
      await expect(loadInstanceId(dir)).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('INSTANCE_ID is checked by the same rule', () => {
    expect(() => loadRunnerConfig({ CLUSTER_ID: 'c', CLUSTER_TOKEN: 't', API_URL: 'http://127.0.0.1:1', INSTANCE_ID: '-bad' })).toThrow(/INSTANCE_ID must be a letter or digit/);
  });
});

describe('object ids', () => {
  it('are 24 lowercase hex digits', () => {
    expect(isObjectId('0123456789abcdef01234567')).toBe(true);
    for (const bad of ['0123456789ABCDEF01234567', '0123456789abcdef0123456', '0123456789abcdef012345678']) expect(isObjectId(bad)).toBe(false);
  });
});
