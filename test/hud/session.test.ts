// The HUD's session in a real browser: `/` redirects to /hud/, a bad token is refused with an
// alert, the project token signs in (kept in sessionStorage only, never in the URL or the page),
// sign-out forgets it, and the whole round trip works with the keyboard alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, startHud, type Hud } from './browser.js';
import { focusOn } from './keyboard.js';

let hud: Hud;

beforeAll(async () => {
  hud = await startHud();
});
afterAll(async () => {
  await hud?.stop();
});

describe('HUD session', { timeout: 120_000 }, () => {
  it('sends / to /hud/ with a 302', async () => {
    const res = await fetch(`${hud.api.url}/`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/hud/');
  });

  it('refuses a bad token with an alert and stays signed out', async () => {
    const { page, watch } = await hud.newPage();
    await signIn(hud, page, 'not-a-real-token');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect((await alert.innerText()).length).toBeGreaterThan(0);
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
    expect(watch.dialogs).toEqual([]);
    await page.context().close();
  });

  it('signs in with the project token, keeps it out of the URL, and signs out', async () => {
    const { page, watch } = await hud.newPage();
    await signIn(hud, page);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(page.url()).not.toContain(hud.api.projectToken);
    expect(await page.getByRole('textbox', { name: 'Token' }).count()).toBe(0);
    // The token lives in this tab's sessionStorage only: not in the page, no cookie, no localStorage.
    expect(await page.content()).not.toContain(hud.api.projectToken);
    expect(await page.context().cookies()).toEqual([]);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(await page.evaluate('JSON.stringify(Object.values(sessionStorage))')).toContain(hud.api.projectToken);
    // A reload keeps the session (sessionStorage), sign-out ends it, and a reload after that too.
    await page.reload();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('textbox', { name: 'Token' }).waitFor();
    await page.reload();
    await page.getByRole('textbox', { name: 'Token' }).waitFor();
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    expect(await page.evaluate('JSON.stringify(Object.values(sessionStorage))')).not.toContain(hud.api.projectToken);
    expect(watch.errors).toEqual([]);
    await page.context().close();
  });

  it('signs in, navigates every page and signs out with the keyboard only', async () => {
    const { page, watch } = await hud.newPage();
    await page.goto(hud.url);
    await focusOn(page, page.getByRole('textbox', { name: 'Token' }));
    await page.keyboard.type(hud.api.projectToken);
    await focusOn(page, page.getByRole('button', { name: 'Sign in' }));
    await page.keyboard.press('Enter');
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.waitFor();
    for (const name of ['Codes', 'Schedules', 'Clusters', 'Tasks'] as const) {
      await focusOn(page, nav.getByRole('link', { name, exact: true }));
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name, exact: true }).first().waitFor();
      expect(page.url()).toContain(`#/${name.toLowerCase()}`);
    }
    await focusOn(page, page.getByRole('button', { name: 'Sign out' }));
    await page.keyboard.press('Enter');
    await page.getByRole('textbox', { name: 'Token' }).waitFor();
    expect(watch.errors).toEqual([]);
    await page.context().close();
  });
});
