// Hostile text in the HUD: a code name and a task's payload and log (printed by a real job on a
// real iron-runner) full of HTML, <script>, event-handler attributes and ANSI escapes carrying
// markup. Nothing may run (no dialog, no window flag, no page error), the raw text must be shown as
// text, ANSI colours become spans, and every HUD answer carries a strict Content-Security-Policy.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerImage, waitForTask } from '../runner/harness.js';
import { navigate, signIn, startHud, taskRow, textUntil, type Hud, type PageWatch } from './browser.js';

const CODE = `<img src=x onerror="window.__pwned='code'"><script>window.__pwned='code-script'</script>`;
const LINES = [
  `<script>window.__pwned = 'script'; alert('script')</script>`,
  `<img src=x onerror="window.__pwned = 'img'; alert('img')">`,
  `<svg onload="window.__pwned = 'svg'"></svg><iframe srcdoc="<script>parent.__pwned='iframe'</script>"></iframe>`,
  `"><a href="javascript:window.__pwned='href'">click me</a><style>body{display:none}</style>`,
  `\x1b[31mred-text\x1b[0m and \x1b[1;32mbold-green\x1b[0m`,
  `\x1b[31;<img src=x onerror="window.__pwned='sgr'">mbroken-sgr\x1b[0m`,
  `\x1b]8;;javascript:alert('osc')\x1b\\osc-link\x1b]8;;\x1b\\`,
];
const PAYLOAD = LINES.join('\n');

let hud: Hud;
let page: Page;
let watch: PageWatch;
let taskId = '';

beforeAll(async () => {
  hud = await startHud();
  await registerImage(hud.api, CODE, `sh -c 'cat "$PAYLOAD_FILE"; echo'`);
  await hud.startRunner();
  const [id] = await hud.api.client.project.queueTasks([{ code_name: CODE, payload: PAYLOAD, cluster: hud.api.clusterId }], AbortSignal.timeout(5_000));
  taskId = id ?? '';
  expect((await waitForTask(hud.api, taskId)).status).toBe('complete');
  ({ page, watch } = await hud.newPage());
  await signIn(hud, page);
}, 120_000);
afterAll(async () => {
  await hud?.stop();
});

async function nothingRan(): Promise<void> {
  expect(await page.evaluate('window.__pwned === undefined')).toBe(true);
  expect(watch.dialogs).toEqual([]);
  expect(watch.errors).toEqual([]);
  // No element came out of the hostile text (the HUD's own markup has none of these).
  expect(await page.locator('main img, main iframe, main script, main style, main a[href^="javascript"], main [onerror], main [onload]').count()).toBe(0);
}

describe('HUD against hostile text', { timeout: 120_000 }, () => {
  it('answers every HUD document with a strict Content-Security-Policy', async () => {
    const res = await page.goto(hud.url);
    const csp = (await res?.allHeaders())?.['content-security-policy'] ?? '';
    const scriptSrc = /(?:^|;)\s*script-src ([^;]*)/.exec(csp)?.[1] ?? /(?:^|;)\s*default-src ([^;]*)/.exec(csp)?.[1] ?? '';
    expect(scriptSrc).toContain("'self'");
    expect(scriptSrc).not.toMatch(/unsafe-inline|unsafe-eval|\*|data:/);
    expect(csp).toMatch(/object-src 'none'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    const index = await fetch(`${hud.url}index.html`);
    expect(index.headers.get('content-security-policy')).toBe(csp);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  });

  it('shows a hostile code name as text in the Codes and Tasks tables', async () => {
    await navigate(page, 'Codes');
    await page.getByRole('table', { name: 'Codes' }).getByRole('link', { name: CODE, exact: true }).waitFor();
    await navigate(page, 'Tasks');
    await textUntil(taskRow(page, taskId), (t) => t.includes(CODE), 'the raw code name in the task row');
    await nothingRan();
  });

  it('shows a hostile payload and log as text, ANSI colours as spans, and runs nothing', async () => {
    await page.goto(`${hud.url}#/tasks/${taskId}`);
    await page.getByRole('heading', { name: `Task ${taskId}` }).waitFor();
    const log = page.getByRole('region', { name: 'Log' });
    const text = await textUntil(log, (t) => t.includes('osc-link'), 'the whole log');
    for (const line of LINES.slice(0, 4)) expect(text).toContain(line);
    // Well-formed colours leave no escape bytes in the text (a malformed one may stay visible as text).
    expect(text.split('\n').find((l) => l.includes('red-text'))).toBe('red-text and bold-green');
    expect(await log.locator('span', { hasText: 'red-text' }).count()).toBeGreaterThan(0);
    const payload = await page.getByRole('region', { name: 'Payload' }).innerText();
    expect(payload).toContain(LINES[0]);
    expect(payload).toContain(LINES[1]);
    await nothingRan();
  });
});
