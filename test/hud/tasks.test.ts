// The HUD's task work in a real browser against a real iron-api and a real iron-runner on Docker:
// queue from a code's form and follow the live log to `complete`, cancel a running task from the
// list, retry a failed one from its page, filter and search the list, and pause / resume a code's
// queue. Screenshots of the pages go to docs/hud/.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskInfo } from '../../src/api/index.js';
import { call } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';
import { registerImage, waitForJobRunning, waitForTask } from '../runner/harness.js';
import { navigate, screenshot, signIn, startHud, taskRow, taskStatus, textUntil, UI_TIMEOUT_MS, type Hud } from './browser.js';
import { GATED, openGate } from './jobs.js';

let hud: Hud;
let page: Page;

beforeAll(async () => {
  hud = await startHud();
  await registerImage(hud.api, 'gated', GATED);
  await registerImage(hud.api, 'failer', `sh -c 'echo "failing on purpose"; exit 3'`);
  await registerImage(hud.api, 'quick', `sh -c 'echo quick'`);
  await registerImage(hud.api, 'pausable', `sh -c 'echo "ran after resume"'`);
  await hud.startRunner();
  ({ page } = await hud.newPage());
  await signIn(hud, page);
}, 120_000);
afterAll(async () => {
  await hud?.stop();
});

async function tasksOf(code: string): Promise<TaskInfo[]> {
  return hud.api.client.project.listTasks({ codeName: code, perPage: 100 }, AbortSignal.timeout(5_000));
}

async function queueApi(code: string, payload = '', extra: { label?: string } = {}): Promise<string> {
  const [id] = await hud.api.client.project.queueTasks([{ code_name: code, payload, cluster: hud.api.clusterId, ...extra }], AbortSignal.timeout(5_000));
  if (id === undefined) throw new Error('queued nothing');
  return id;
}

async function openCode(name: string): Promise<void> {
  await navigate(page, 'Codes');
  await page.getByRole('table', { name: 'Codes' }).getByRole('link', { name, exact: true }).click();
  await page.getByRole('form', { name: 'Queue task' }).waitFor();
}

/** Queues one task of the open code page through its form; returns the new task's id (from the API, then its link). */
async function queueFromForm(code: string, payload: string): Promise<string> {
  const before = new Set((await tasksOf(code)).map((t) => t.id));
  const form = page.getByRole('form', { name: 'Queue task' });
  await form.getByLabel('Payload').fill(payload);
  await form.getByRole('button', { name: 'Queue task' }).click();
  const id = await waitFor(`a new task of ${code}`, async () => (await tasksOf(code)).find((t) => !before.has(t.id))?.id, { timeoutMs: UI_TIMEOUT_MS });
  await page.getByRole('link', { name: id, exact: true }).waitFor();
  return id;
}

async function openTask(id: string): Promise<void> {
  await page.goto(`${hud.url}#/tasks/${id}`);
  await page.getByRole('heading', { name: `Task ${id}` }).waitFor();
}

describe('HUD tasks', { timeout: 120_000 }, () => {
  it('queues a task from the code page and follows its log live to complete', async () => {
    await openCode('gated');
    const id = await queueFromForm('gated', 'hello-from-the-form');
    await page.getByRole('link', { name: id, exact: true }).click();
    await page.getByRole('heading', { name: `Task ${id}` }).waitFor();
    const log = page.getByRole('region', { name: 'Log' });
    // The job waits at its gate: the page shows it running with the first line, with no reload.
    await textUntil(taskStatus(page), (s) => s === 'running', `task ${id} shown running`);
    await textUntil(log, (t) => t.includes('started hello-from-the-form'), 'the first log line while running');
    expect(await textUntil(taskStatus(page), (s) => s === 'running', 'still running')).toBe('running');
    expect(await page.getByRole('region', { name: 'Payload' }).innerText()).toContain('hello-from-the-form');
    await openGate(id);
    await textUntil(taskStatus(page), (s) => s === 'complete', `task ${id} shown complete`, 60_000);
    await textUntil(log, (t) => t.includes('finished'), 'the last log line');
    expect(await log.locator('span', { hasText: 'gate open' }).count()).toBe(1);
    expect((await waitForTask(hud.api, id)).status).toBe('complete');
    await screenshot(page, 'task');
  });

  it('cancels a running task selected in the list', async () => {
    const id = await queueApi('gated', 'to-be-cancelled');
    await waitForJobRunning(hud.api, id);
    await navigate(page, 'Tasks');
    const row = taskRow(page, id);
    await textUntil(row, (t) => t.includes('running'), `row ${id} running`);
    await page.getByRole('checkbox', { name: `Select task ${id}` }).check();
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await textUntil(row, (t) => t.includes('cancelled'), `row ${id} cancelled`);
    expect((await waitForTask(hud.api, id)).status).toBe('cancelled');
  });

  it('retries a failed task from its page', async () => {
    const id = await queueApi('failer');
    expect((await waitForTask(hud.api, id)).status).toBe('error');
    await openTask(id);
    await textUntil(taskStatus(page), (s) => s === 'error', `task ${id} shown as error`);
    await textUntil(page.getByRole('region', { name: 'Log' }), (t) => t.includes('failing on purpose'), 'the failed log');
    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    const retried = await waitFor(
      `task ${id} to get a retry`,
      async () => {
        const next = (await hud.api.client.project.getTask(id, AbortSignal.timeout(5_000)))['retry_task_id'];
        return typeof next === 'string' && next;
      },
      {
        timeoutMs: UI_TIMEOUT_MS,
      },
    );
    expect(retried).not.toBe(id);
    expect((await waitForTask(hud.api, retried)).status).toBe('error');
    await navigate(page, 'Tasks');
    await textUntil(taskRow(page, retried), (t) => t.includes('error'), `the retry ${retried} in the list`);
  });

  it('filters by status and code and finds a task by its id', async () => {
    const errors = (await tasksOf('failer')).map((t) => t.id).sort();
    const gated = (await tasksOf('gated')).map((t) => t.id).sort();
    expect(errors.length).toBeGreaterThanOrEqual(2);
    await navigate(page, 'Tasks');
    const table = page.getByRole('table', { name: 'Tasks' });
    const shownIds = async (): Promise<string[]> => (await table.getByRole('link').allInnerTexts()).map((s) => s.trim()).sort();
    await page.getByRole('combobox', { name: 'Status', exact: true }).selectOption('error');
    await waitFor('only the error tasks listed', async () => JSON.stringify(await shownIds()) === JSON.stringify(errors), { timeoutMs: UI_TIMEOUT_MS });
    await page.getByRole('combobox', { name: 'Status', exact: true }).selectOption('');
    await page.getByRole('textbox', { name: 'Code', exact: true }).fill('gated');
    await waitFor('only the gated tasks listed', async () => JSON.stringify(await shownIds()) === JSON.stringify(gated), { timeoutMs: UI_TIMEOUT_MS });
    await page.getByRole('textbox', { name: 'Code', exact: true }).fill('');
    const labelled = await queueApi('quick', '', { label: 'nightly-batch' });
    await page.getByRole('textbox', { name: 'Label', exact: true }).fill('nightly-batch');
    await waitFor('only the labelled task listed', async () => JSON.stringify(await shownIds()) === JSON.stringify([labelled]), { timeoutMs: UI_TIMEOUT_MS });
    await page.getByRole('textbox', { name: 'Label', exact: true }).fill('');
    // A time window in the future matches nothing; cleared, everything is back.
    await page.getByLabel('From', { exact: true }).fill('2099-01-01T00:00');
    await waitFor('no task listed from 2099 on', async () => (await shownIds()).length === 0, { timeoutMs: UI_TIMEOUT_MS });
    await page.getByLabel('From', { exact: true }).fill('');
    await waitFor('every task listed again', async () => (await shownIds()).length === errors.length + gated.length + 1, { timeoutMs: UI_TIMEOUT_MS });
    const wanted = gated[0] ?? '';
    await page.getByRole('searchbox', { name: 'Task id' }).fill(wanted);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('heading', { name: `Task ${wanted}` }).waitFor();
  });

  it("pauses a code's queue: its tasks wait while others run; resume runs them", async () => {
    await openCode('pausable');
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.getByRole('button', { name: 'Resume', exact: true }).waitFor();
    expect((await hud.api.client.project.listCodes(AbortSignal.timeout(5_000))).find((c) => c.name === 'pausable')).toMatchObject({ paused: true });
    const waiting = await queueFromForm('pausable', 'while-paused');
    // Another code's task queued after it runs to the end: the runner is polling, yet skips the paused one.
    const other = await queueApi('quick');
    expect((await waitForTask(hud.api, other)).status).toBe('complete');
    expect((await hud.api.client.project.getTask(waiting, AbortSignal.timeout(5_000))).status).toBe('queued');
    await navigate(page, 'Tasks');
    await textUntil(taskRow(page, other), (t) => t.includes('complete'), 'the other code complete');
    expect(await textUntil(taskRow(page, waiting), (t) => t.includes('queued'), 'the paused task queued')).toContain('queued');
    await openCode('pausable');
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.getByRole('button', { name: 'Pause', exact: true }).waitFor();
    await navigate(page, 'Tasks');
    await textUntil(taskRow(page, waiting), (t) => t.includes('complete'), `task ${waiting} complete after resume`, 60_000);
    await screenshot(page, 'tasks');
    await openCode('pausable');
    await screenshot(page, 'code');
    await navigate(page, 'Codes');
    await page.getByRole('table', { name: 'Codes' }).getByRole('link', { name: 'pausable', exact: true }).waitFor();
    await screenshot(page, 'codes');
  });

  it('pages through more tasks than fit on one page with Next and Previous', async () => {
    // 60 tasks of a paused code stay queued (nothing runs them); the HUD shows 50 a page.
    const codes = await hud.api.client.project.listCodes(AbortSignal.timeout(5_000));
    const backlog = codes.find((c) => c.name === 'pausable');
    if (backlog === undefined) throw new Error('no pausable code');
    await call(hud.api.url, 'POST', `/2/projects/${hud.api.projectId}/codes/${backlog.id}/pause_task_queue`, { token: hud.api.projectToken, json: {} });
    await hud.api.client.project.queueTasks(
      Array.from({ length: 60 }, (_, i) => ({ code_name: 'pausable', payload: `backlog-${i}`, cluster: hud.api.clusterId })),
      AbortSignal.timeout(10_000),
    );
    const all = (await tasksOf('pausable')).map((t) => t.id);
    expect(all.length).toBeGreaterThan(50);
    await navigate(page, 'Tasks');
    await page.getByRole('textbox', { name: 'Code', exact: true }).fill('pausable');
    const table = page.getByRole('table', { name: 'Tasks' });
    const shown = async (): Promise<string[]> => (await table.getByRole('link').allInnerTexts()).map((s) => s.trim());
    const first = await waitFor(
      'a full first page',
      async () => {
        const ids = await shown();
        return ids.length === 50 && ids;
      },
      { timeoutMs: UI_TIMEOUT_MS },
    );
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    const second = await waitFor(
      'the second page',
      async () => {
        const ids = await shown();
        return ids.length === all.length - 50 && ids;
      },
      { timeoutMs: UI_TIMEOUT_MS },
    );
    expect(second.filter((id) => first.includes(id))).toEqual([]);
    expect([...first, ...second].sort()).toEqual([...all].sort());
    await page.getByRole('button', { name: 'Previous', exact: true }).click();
    await waitFor('the first page again', async () => JSON.stringify(await shown()) === JSON.stringify(first), { timeoutMs: UI_TIMEOUT_MS });
  });
});
