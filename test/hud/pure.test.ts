// The HUD's pure parts, run in Node: the ANSI renderer (untrusted log text -> segments, never HTML),
// the encrypted-payload check, and the runner setup snippets against the real cloud-init script.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAnsi } from '../../hud/src/ansi.js';
import { dockerRunCommand, fillUserData, shellWord } from '../../hud/src/deploy-snippets.js';
import { encryptedSize } from '../../hud/src/format.js';
import { encryptPayload } from '../../src/decrypt/index.js';
import { generateKeyPairSync } from 'node:crypto';

const ESC = '\u001b';

describe('parseAnsi', () => {
  it('turns SGR colours into classes and keeps the text as text', () => {
    const segs = parseAnsi(`plain ${ESC}[31mred ${ESC}[1;42mbold on green${ESC}[0m <b>&amp;</b>`);
    expect(segs).toEqual([
      { text: 'plain ', classes: [] },
      { text: 'red ', classes: ['ansi-fg-1'] },
      { text: 'bold on green', classes: ['ansi-fg-1', 'ansi-bg-2', 'ansi-bold'] },
      { text: ' <b>&amp;</b>', classes: [] },
    ]);
  });

  it('drops other escape sequences (cursor moves, titles, a cut-off one at the end)', () => {
    const segs = parseAnsi(`a${ESC}[2Kb${ESC}]0;title\u0007c${ESC}[9`);
    expect(segs.map((s) => s.text).join('')).toBe('abc');
    expect(segs.every((s) => s.classes.length === 0)).toBe(true);
  });

  it('maps 256-colour codes below 16 and skips truecolour without eating the text', () => {
    // Truecolour leaves the colour as it was, so x and y share one segment.
    expect(parseAnsi(`${ESC}[38;5;9mx${ESC}[38;2;1;2;3my${ESC}[38;5;200mz`)).toEqual([{ text: 'xyz', classes: ['ansi-fg-9'] }]);
  });

  it('never loses or invents printable text, and classes come only from its own names', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom(`${ESC}[31m`, `${ESC}[0m`, `${ESC}[1;4;97;100m`, `${ESC}[38;5;200m`, `${ESC}[K`))), (parts) => {
        const input = parts.join('');
        const segs = parseAnsi(input);
        const plain = input.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
        if (!plain.includes(ESC)) expect(segs.map((s) => s.text).join('')).toBe(plain);
        for (const s of segs) for (const c of s.classes) expect(c).toMatch(/^ansi-(fg-\d{1,2}|bg-\d{1,2}|bold|dim|italic|underline)$/);
      }),
    );
  });
});

describe('encryptedSize', () => {
  it('recognises ironcli ciphertext and tells its decoded size, and leaves plain payloads alone', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ct = encryptPayload(publicKey.export({ type: 'spki', format: 'pem' }), '{"secret":"x"}');
    expect(encryptedSize(ct)).toBe(Buffer.from(ct, 'base64').length);
    expect(encryptedSize('{"secret":"x"}')).toBeUndefined();
    expect(encryptedSize('')).toBeUndefined();
    expect(encryptedSize(Buffer.from('short').toString('base64'))).toBeUndefined();
  });
});

describe('runner setup snippets', () => {
  const s = { clusterId: '6b0edc58babb6bd49a58dd0e', clusterToken: 'jr-naWrzdqzxE_rj8CCWL6HutWrCUBj6', apiUrl: 'https://iron.example:8080' };

  it('docker run line in the documented shape', () => {
    expect(dockerRunCommand(s)).toBe(`docker run --privileged -d -e CLUSTER_ID=${s.clusterId} -e CLUSTER_TOKEN=${s.clusterToken} -e API_URL=${s.apiUrl} iron/runner`);
    expect(shellWord(`a'b c`)).toBe(`'a'\\''b c'`);
  });

  it('fills the real user-data.sh so that bash sees the values (even hostile ones)', () => {
    const script = readFileSync(join(import.meta.dirname, '../../deploy/cloud-init/user-data.sh'), 'utf8');
    for (const settings of [s, { ...s, clusterToken: 'a"b$(touch /tmp/x)`c`\\d' }]) {
      const filled = fillUserData(script, settings);
      // Only the three setting lines differ; evaluate those lines with bash and read the values back.
      const lines = filled.split('\n').filter((l) => /^(CLUSTER_ID|CLUSTER_TOKEN|API_URL)=/.test(l));
      expect(lines).toHaveLength(3);
      const out = execFileSync('bash', ['-c', `${lines.join('\n')}\nprintf '%s\\n' "$CLUSTER_ID" "$CLUSTER_TOKEN" "$API_URL"`], { env: {} }).toString();
      expect(out).toBe(`${settings.clusterId}\n${settings.clusterToken}\n${settings.apiUrl}\n`);
      expect(filled.split('\n').length).toBe(script.split('\n').length);
    }
    expect(() => fillUserData('#!/bin/bash\n', s)).toThrow(/CLUSTER_ID/);
  });
});
