// 12. The HUD with a big project: iron-api (a child process, SQLite) holding 10,000 queued tasks.
// Times the first page of the task list: the API call the HUD makes (GET .../tasks?per_page=50),
// and in Debian's Chromium from navigation to the first row of the Tasks table visible, cold (a new
// browser context: empty cache, the HUD's files fetched) and warm (a reload: the hashed assets come
// from the cache). Plus the size of what the browser downloads: dist/hud raw and gzipped.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Agent, request } from 'undici';
import { startApiProcess, type ApiProc } from './lib/api-proc.js';
import { launchChromium } from './lib/browser.js';
import { ROOT } from './lib/proc.js';
import { metric, type Metrics } from './lib/results.js';
import { fmt, summarize, type Summary } from './lib/stats.js';

const TASKS = 10_000;
const PER_PAGE = 50;
const API_RUNS = 50;
const BROWSER_RUNS = 10;
const TIMEOUT_MS = 60_000;

export interface HudAsset {
  file: string;
  raw: number;
  gzip: number;
}

/** Every file of the built HUD (dist/hud), raw and gzipped (level 9, what a compressing proxy would send). */
export function hudAssets(dir = path.join(ROOT, 'dist/hud')): HudAsset[] {
  const out: HudAsset[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const bytes = readFileSync(p);
        out.push({ file: path.relative(dir, p), raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });
      }
    }
  };
  walk(dir);
  return out.sort((a, b) => b.raw - a.raw);
}

async function seed(api: ApiProc, agent: Agent): Promise<number> {
  const post = async (p: string, body: unknown): Promise<void> => {
    const res = await request(`${api.url}/2/projects/${api.projectId}${p}`, {
      method: 'POST',
      dispatcher: agent,
      body: JSON.stringify(body),
      headers: { authorization: `OAuth ${api.projectToken}`, 'content-type': 'application/json' },
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`POST ${p}: ${res.statusCode} ${text}`);
  };
  await post('/codes', { name: 'bench-hud', image: 'iron-test/busybox:1' });
  const t0 = performance.now();
  // The API's batch limit is 1000 tasks per call.
  for (let i = 0; i < TASKS; i += 1000) {
    await post('/tasks', { tasks: Array.from({ length: 1000 }, (_, j) => ({ code_name: 'bench-hud', payload: `{"n":${i + j}}`, label: `batch-${i / 1000}` })) });
  }
  return (performance.now() - t0) / 1000;
}

async function timeApi(api: ApiProc, agent: Agent): Promise<Summary> {
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const res = await request(`${api.url}/2/projects/${api.projectId}/tasks?page=0&per_page=${PER_PAGE}`, {
      dispatcher: agent,
      headers: { authorization: `OAuth ${api.projectToken}` },
    });
    const body = (await res.body.json()) as { tasks?: unknown[] };
    const ms = performance.now() - t0;
    if (res.statusCode !== 200 || body.tasks?.length !== PER_PAGE) throw new Error(`GET tasks: ${res.statusCode}, ${body.tasks?.length ?? 0} tasks`);
    return ms;
  };
  for (let i = 0; i < 5; i++) await once(); // warm-up
  const xs: number[] = [];
  for (let i = 0; i < API_RUNS; i++) xs.push(await once());
  return summarize(xs);
}

const firstRow = (page: Page) => page.getByRole('table', { name: 'Tasks' }).locator('tbody tr').first();

/** Signs in once through the form and returns the tab's sessionStorage (the HUD's session), to seed new contexts with. */
async function session(browser: Browser, api: ApiProc): Promise<string> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${api.url}/hud/`);
  await page.getByRole('textbox', { name: 'Token' }).fill(api.projectToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: TIMEOUT_MS });
  const entries = await page.evaluate('JSON.stringify(Object.entries(sessionStorage))');
  await context.close();
  return String(entries);
}

async function signedInContext(browser: Browser, entries: string): Promise<BrowserContext> {
  const context = await browser.newContext();
  // A string script: it runs in the page, before the HUD's own code, on every navigation.
  await context.addInitScript(`for (const [k, v] of JSON.parse(${JSON.stringify(entries)})) sessionStorage.setItem(k, v);`);
  return context;
}

async function timeBrowser(browser: Browser, api: ApiProc): Promise<{ cold: Summary; warm: Summary }> {
  const entries = await session(browser, api);
  const url = `${api.url}/hud/#/tasks`;
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < BROWSER_RUNS + 1; i++) {
    const context = await signedInContext(browser, entries);
    const page = await context.newPage();
    let t0 = performance.now();
    await page.goto(url, { waitUntil: 'commit', timeout: TIMEOUT_MS });
    await firstRow(page).waitFor({ state: 'visible', timeout: TIMEOUT_MS });
    const c = performance.now() - t0;
    t0 = performance.now();
    await page.reload({ waitUntil: 'commit', timeout: TIMEOUT_MS });
    await firstRow(page).waitFor({ state: 'visible', timeout: TIMEOUT_MS });
    const w = performance.now() - t0;
    await context.close();
    if (i === 0) continue; // warm-up: the API's and Chromium's first run
    cold.push(c);
    warm.push(w);
  }
  return { cold: summarize(cold), warm: summarize(warm) };
}

export async function benchHud(print: (line: string) => void): Promise<Metrics> {
  const assets = hudAssets();
  const api = await startApiProcess();
  const agent = new Agent({ connections: 2 });
  let browser: Browser | undefined;
  try {
    const queueS = await seed(api, agent);
    const apiMs = await timeApi(api, agent);
    browser = await launchChromium();
    const b = await timeBrowser(browser, api);
    const raw = assets.reduce((n, a) => n + a.raw, 0);
    const gz = assets.reduce((n, a) => n + a.gzip, 0);
    print(`hud: iron-api (child process, SQLite) with ${TASKS} queued tasks (queued in ${fmt(queueS, 1)} s, 10 batches of 1000); first page of ${PER_PAGE}`);
    print(`  API GET .../tasks?per_page=${PER_PAGE}: p50 ${fmt(apiMs.p50)} ms, p95 ${fmt(apiMs.p95)} ms (${apiMs.n} runs)`);
    print(
      `  Chromium, navigation -> first row visible: cold p50 ${fmt(b.cold.p50, 0)} ms, p95 ${fmt(b.cold.p95, 0)} ms; warm (reload) p50 ${fmt(b.warm.p50, 0)} ms, p95 ${fmt(b.warm.p95, 0)} ms (${b.cold.n} runs)`,
    );
    print(`  dist/hud: ${assets.length} files, ${fmt(raw / 1024, 1)} KiB raw, ${fmt(gz / 1024, 1)} KiB gzip`);
    for (const a of assets) print(`    ${a.file}: ${fmt(a.raw / 1024, 1)} KiB raw, ${fmt(a.gzip / 1024, 1)} KiB gzip`);
    return {
      hud_tasks_api_p50_ms: metric(apiMs.p50, 'ms'),
      hud_tasks_api_p95_ms: metric(apiMs.p95, 'ms'),
      hud_first_row_cold_p50_ms: metric(b.cold.p50, 'ms'),
      hud_first_row_cold_p95_ms: metric(b.cold.p95, 'ms'),
      hud_first_row_warm_p50_ms: metric(b.warm.p50, 'ms'),
      hud_first_row_warm_p95_ms: metric(b.warm.p95, 'ms'),
      hud_assets_raw_bytes: metric(raw, 'bytes'),
      hud_assets_gzip_bytes: metric(gz, 'bytes'),
    };
  } finally {
    await browser?.close();
    await agent.close();
    await api.stop();
  }
}
