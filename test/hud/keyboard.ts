// Keyboard-only navigation for the HUD tests: Tab moves the focus, nothing is clicked.
import type { Locator, Page } from 'playwright-core';

/**
 * Presses Tab until `target` has the focus (at most `maxTabs` times, wrapping around the page), so
 * a test proves the element is reachable in the tab order; throws naming what had the focus.
 */
export async function focusOn(page: Page, target: Locator, maxTabs = 60): Promise<void> {
  await target.waitFor();
  const focused = target.and(page.locator(':focus'));
  const seen: string[] = [];
  for (let i = 0; i < maxTabs; i++) {
    if ((await focused.count()) === 1) return;
    await page.keyboard.press('Tab');
    seen.push(await describeFocus(page));
  }
  if ((await focused.count()) === 1) return;
  throw new Error(`Tab never reached ${target.toString()} in ${maxTabs} presses; focus went: ${seen.join(' -> ')}`);
}

async function describeFocus(page: Page): Promise<string> {
  const el = page.locator(':focus');
  if ((await el.count()) === 0) return '(body)';
  const text = (
    await el
      .first()
      .innerText()
      .catch(() => '')
  )
    .trim()
    .slice(0, 30);
  const label = (await el.first().getAttribute('aria-label')) ?? '';
  return `${label || text || '(unnamed)'}`;
}
