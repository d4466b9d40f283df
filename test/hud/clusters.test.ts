// The HUD's Clusters page in a real browser: create a cluster, read its docker run command (the new
// CLUSTER_ID, this API's URL, the token shown once), start a real iron-runner with exactly those
// values, and see it come online in the cluster's runners table (its self-report: contracts 1 and 2).
import { hostname } from 'node:os';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/http.js';
import { registerImage, waitForTask } from '../runner/harness.js';
import { navigate, screenshot, signIn, startHud, textUntil, type Hud } from './browser.js';
import { GATED, openGate } from './jobs.js';

const NAME = 'edge-hud-1';
let hud: Hud;
let page: Page;
let created: { id: string; token: string; apiUrl: string } | undefined;

beforeAll(async () => {
  hud = await startHud();
  ({ page } = await hud.newPage());
  await signIn(hud, page);
});
afterAll(async () => {
  await hud?.stop();
});

/** `-e NAME=value` of a docker run command line. */
function envOf(command: string, name: string): string {
  const m = new RegExp(`-e ${name}=(\\S+)`).exec(command);
  if (m?.[1] === undefined) throw new Error(`no -e ${name}= in ${JSON.stringify(command)}`);
  return m[1].replace(/^['"]|['"]$/g, '');
}

describe('HUD clusters', { timeout: 120_000 }, () => {
  it('creates a cluster and shows its docker run command and cloud-init once', async () => {
    await navigate(page, 'Clusters');
    await page.getByRole('button', { name: 'Create cluster' }).click();
    await page.getByLabel('Name', { exact: true }).fill(NAME);
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const command = await textUntil(page.getByLabel('docker run command'), (t) => t.includes('docker run'), 'the docker run command');
    const listed = (await call<{ clusters: Array<{ id: string; name: string }> }>(hud.api.url, 'GET', '/2/clusters', { token: hud.api.projectToken })).body.clusters;
    const cluster = listed.find((c) => c.name === NAME);
    expect(cluster).toBeDefined();
    const id = envOf(command, 'CLUSTER_ID');
    expect(id).toBe(cluster?.id);
    const apiUrl = envOf(command, 'API_URL');
    expect(apiUrl.replace(/\/$/, '')).toBe(hud.api.url);
    const token = envOf(command, 'CLUSTER_TOKEN');
    expect(token.length).toBeGreaterThan(16);
    expect(command).toMatch(/^docker run --privileged -d .* iron\/runner/);
    // The token really is this cluster's: the runner's startup check accepts it.
    expect((await call(hud.api.url, 'GET', `/2/clusters/${id}`, { token })).status).toBe(200);
    const cloudInit = await page.getByLabel('Cloud-init user data').innerText();
    expect(cloudInit).toContain(id);
    await page.getByRole('table', { name: `Runners ${NAME}` }).waitFor();
    created = { id, token, apiUrl };
    await screenshot(page, 'clusters');
  });

  it('shows a real iron-runner started with that command online in the runners table', async () => {
    if (created === undefined) throw new Error('the create test did not pass');
    const { id, token, apiUrl } = created;
    const runner = await hud.startRunner({ CLUSTER_ID: id, CLUSTER_TOKEN: token, API_URL: apiUrl, CONCURRENCY: '3' });
    const connected = await runner.waitForEvent('api.connected');
    expect(connected['cluster_id']).toBe(id);
    const runners = page.getByRole('table', { name: `Runners ${NAME}` });
    const row = await textUntil(runners, (t) => t.includes(hostname()) && /\b0\s*(\/|of)\s*3\b/.test(t), 'the runner online (host, 0 / 3 slots)', 60_000);
    expect(row).toMatch(/idle|online/);
    // The cluster's own row: runners online "x of y" (contract 6), from the cluster's real runners_total / runners_available.
    const clusterRow = page.getByRole('table', { name: 'Clusters' }).getByRole('row').filter({ hasText: NAME });
    await textUntil(clusterRow, (t) => /\b1 of 1\b/.test(t), 'the cluster row with 1 of 1 runners online', 60_000);
    if ((await page.getByLabel('docker run command').count()) > 0) await screenshot(page, 'clusters');
    // A task on the new cluster makes the runner busy in the table, live, and idle again after it.
    await registerImage(hud.api, 'gated', GATED);
    const [task] = await hud.api.client.project.queueTasks([{ code_name: 'gated', payload: 'on-edge', cluster: id }], AbortSignal.timeout(5_000));
    if (task === undefined) throw new Error('queued nothing');
    await textUntil(runners, (t) => /\b1\s*(\/|of)\s*3\b/.test(t) && t.includes('busy'), 'the runner busy (1 / 3 slots)', 60_000);
    await openGate(task);
    expect((await waitForTask(hud.api, task)).status).toBe('complete');
    await textUntil(runners, (t) => /\b0\s*(\/|of)\s*3\b/.test(t) && t.includes('idle'), 'the runner idle again', 60_000);
  });

  it('never shows the token again after the page is left', async () => {
    if (created === undefined) throw new Error('the create test did not pass');
    await page.reload();
    await navigate(page, 'Clusters');
    await page.getByRole('table', { name: 'Clusters' }).getByText(NAME).first().waitFor();
    expect(await page.content()).not.toContain(created.token);
    expect(await page.getByLabel('docker run command').count()).toBe(0);
  });
});
