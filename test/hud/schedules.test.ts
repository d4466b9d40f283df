// The HUD's Schedules page in a real browser: create a schedule through its form, see it listed
// (and in the API), and cancel it from its row.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScheduleInfo } from '../../src/api/index.js';
import { waitFor } from '../helpers/wait.js';
import { registerImage } from '../runner/harness.js';
import { navigate, screenshot, setField, signIn, startHud, UI_TIMEOUT_MS, type Hud } from './browser.js';

let hud: Hud;
let page: Page;

beforeAll(async () => {
  hud = await startHud();
  await registerImage(hud.api, 'nightly-report', `sh -c 'echo report'`);
  await registerImage(hud.api, 'hourly-sync', `sh -c 'echo sync'`);
  ({ page } = await hud.newPage());
  await signIn(hud, page);
});
afterAll(async () => {
  await hud?.stop();
});

async function schedules(): Promise<ScheduleInfo[]> {
  return hud.api.client.project.listSchedules(AbortSignal.timeout(5_000));
}

describe('HUD schedules', { timeout: 120_000 }, () => {
  it('creates schedules from the form and cancels one from its row', async () => {
    await navigate(page, 'Schedules');
    const form = page.getByRole('form', { name: 'Create schedule' });
    for (const [code, every, payload] of [
      ['nightly-report', '86400', '{"report":"daily"}'],
      ['hourly-sync', '3600', '{"sync":"all"}'],
    ] as const) {
      await setField(form.getByLabel('Code', { exact: true }), code);
      await form.getByLabel('Payload', { exact: true }).fill(payload);
      await form.getByLabel('Run every', { exact: true }).fill(every);
      await form.getByRole('button', { name: 'Create schedule' }).click();
      await waitFor(`a schedule of ${code}`, async () => (await schedules()).find((s) => s.code_name === code), { timeoutMs: UI_TIMEOUT_MS });
    }
    const table = page.getByRole('table', { name: 'Schedules' });
    const row = (code: string) => table.getByRole('row').filter({ hasText: code });
    await row('nightly-report').waitFor();
    await row('hourly-sync').waitFor();
    const created = await schedules();
    expect(created.find((s) => s.code_name === 'nightly-report')).toMatchObject({ payload: '{"report":"daily"}' });
    await screenshot(page, 'schedules');
    await row('hourly-sync').getByRole('button', { name: 'Cancel', exact: true }).click();
    const cancelled = await waitFor(
      'the hourly-sync schedule cancelled',
      async () => {
        const s = (await schedules()).find((x) => x.code_name === 'hourly-sync');
        return (s === undefined || s.status === 'cancelled') && (s ?? 'gone');
      },
      { timeoutMs: UI_TIMEOUT_MS },
    );
    expect(cancelled).toBeTruthy();
    expect((await schedules()).find((x) => x.code_name === 'nightly-report')?.status).not.toBe('cancelled');
  });
});
