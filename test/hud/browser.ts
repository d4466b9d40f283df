// The HUD's browser harness: one headless Debian Chromium per test file (playwright-core drives it;
// no browser is downloaded), a real in-process iron-api on port 0 serving the built HUD (dist/hud,
// `npm run build`), and real iron-runner processes on the real Docker engine when a test needs
// tasks to run. Everything it starts is stopped by stop(): pages and browser closed, runners
// stopped (their containers carry the runner's instance label and must be gone), job networks removed.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { CHROMIUM as DEBIAN_CHROMIUM, launchChromium } from '../../bench/lib/browser.js';
import { REPO_ROOT } from '../helpers/vectors.js';
import { waitFor } from '../helpers/wait.js';
import { containersGone, removeNetwork, spawnRunner, startApi, uniqueNetwork, type Api, type RunnerProc, type StartApiOptions } from '../runner/harness.js';

/** Debian's Chromium (scripts/dev installs it); CHROMIUM points elsewhere for a local run. */
export const CHROMIUM = process.env['CHROMIUM'] ?? DEBIAN_CHROMIUM;
export const HUD_DIST = path.join(REPO_ROOT, 'dist/hud');
/** Generous: two cores are shared by the whole suite; nothing here asserts how fast the HUD is. */
export const UI_TIMEOUT_MS = 30_000;

/** What a page did that no HUD page may do on its own: a dialog, an uncaught error, a console error. */
export interface PageWatch {
  dialogs: string[];
  errors: string[];
  consoleErrors: string[];
}

export interface HudPage {
  page: Page;
  watch: PageWatch;
}

export interface Hud {
  api: Api;
  browser: Browser;
  /** The HUD's entry, `<api>/hud/`. */
  url: string;
  /** A fresh browser context (its own sessionStorage) and page, watched for dialogs and errors. */
  newPage(): Promise<HudPage>;
  /** A real iron-runner on the API's bootstrap cluster (or the one in `env`), stopped by stop(). */
  startRunner(env?: Record<string, string>): Promise<RunnerProc>;
  stop(): Promise<void>;
}

export async function startHud(opts: StartApiOptions = {}): Promise<Hud> {
  if (!existsSync(path.join(HUD_DIST, 'index.html'))) throw new Error(`${HUD_DIST}/index.html is missing: run \`npm run build\``);
  const api = await startApi(opts);
  let browser: Browser;
  try {
    browser = await launchChromium(CHROMIUM);
  } catch (err) {
    await api.stop();
    throw err;
  }
  const runners: Array<{ runner: RunnerProc; network: string }> = [];
  return {
    api,
    browser,
    url: `${api.url}/hud/`,
    async newPage() {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      page.setDefaultTimeout(UI_TIMEOUT_MS);
      const watch: PageWatch = { dialogs: [], errors: [], consoleErrors: [] };
      page.on('dialog', (d) => {
        watch.dialogs.push(`${d.type()}: ${d.message()}`);
        void d.dismiss();
      });
      page.on('pageerror', (e) => watch.errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') watch.consoleErrors.push(m.text());
      });
      return { page, watch };
    },
    async startRunner(env = {}) {
      const network = uniqueNetwork();
      const runner = spawnRunner(api, { JOB_NETWORK: network, CONCURRENCY: '2', ...env });
      runners.push({ runner, network });
      await runner.waitForEvent('api.connected');
      return runner;
    },
    async stop() {
      await browser.close();
      const left: string[] = [];
      for (const { runner, network } of runners) {
        await runner.stop();
        const instance = instanceOf(runner);
        if (instance !== undefined && (await containersGone(instance)) > 0) left.push(instance);
        await removeNetwork(network);
      }
      await api.stop();
      if (left.length > 0) throw new Error(`runner instances left containers behind: ${left.join(', ')}`);
    },
  };
}

function instanceOf(runner: RunnerProc): string | undefined {
  try {
    return readFileSync(path.join(runner.jobsDir, 'instance-id'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Opens the HUD and signs in with `token` (the project token by default) through the form. */
export async function signIn(hud: Hud, page: Page, token: string = hud.api.projectToken): Promise<void> {
  await page.goto(hud.url);
  await page.getByRole('textbox', { name: 'Token' }).fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (token === hud.api.projectToken) await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Follows a link of the main navigation. */
export async function navigate(page: Page, name: 'Tasks' | 'Codes' | 'Schedules' | 'Clusters'): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { name, exact: true }).first().waitFor();
}

/** Waits until the locator's text passes `ok` (the HUD updates itself live); returns that text. */
export function textUntil(locator: Locator, ok: (text: string) => boolean, what: string, timeoutMs = UI_TIMEOUT_MS): Promise<string> {
  let last = '';
  return waitFor(
    () => `${what} (last text: ${JSON.stringify(last.slice(0, 400))})`,
    async () => {
      try {
        last = (await locator.innerText({ timeout: 1_000 })).trim();
      } catch {
        return undefined; // not rendered yet
      }
      return ok(last) && last;
    },
    { timeoutMs, everyMs: 200 },
  );
}

/** The row of the Tasks table for task `id`. */
export function taskRow(page: Page, id: string): Locator {
  return page
    .getByRole('table', { name: 'Tasks' })
    .getByRole('row')
    .filter({ has: page.getByRole('link', { name: id, exact: true }) });
}

/** The status shown on a task's page (`data-field="status"`). */
export function taskStatus(page: Page): Locator {
  return page.locator('[data-field="status"]');
}

/** Saves a screenshot of the page to docs/hud/<name>.png (the README and docs show them). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(REPO_ROOT, 'docs/hud', `${name}.png`), fullPage: true });
}

/** Sets a form field whether the HUD renders it as a select (by value or label) or a text input. */
export async function setField(field: Locator, value: string): Promise<void> {
  const tag = await field.evaluate('(el) => el.tagName');
  if (tag === 'SELECT') await field.selectOption(value);
  else await field.fill(value);
}
