import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestTenant } from '../support/platform.js';
import { bootBrowserSuite, checkScreen, signInThroughForm, type BrowserSuite } from './support/browser.js';

/**
 * The operator console's operations screens (issue 11): cells with the tenant → cell map, their
 * settings and a drain that moves tenants; releases with their waves, gate figures and an abort;
 * usage and cost (chart, table, CSV) and the SLO view — each on the platform's real data.
 */
let suite: BrowserSuite;
let inCell1: TestTenant;
let inCell2: TestTenant;
let names: Record<string, string>;

beforeAll(async () => {
  // A release driver with gates of seconds, as the releases integration suite runs them.
  suite = await bootBrowserSuite({ releaseDriver: { pollMs: 100 }, releaseGate: { bakeSeconds: 2, minRequests: 10, probeIntervalSeconds: 0.25, maxGateSeconds: 30 } });
  const first = await suite.env.onboard('standard');
  const second = await suite.env.onboard('basic');
  [inCell1, inCell2] = first.cellId === 'cell-1' ? [first, second] : [second, first];
  expect([inCell1.cellId, inCell2.cellId]).toEqual(['cell-1', 'cell-2']);
  names = {};
  for (const tenant of [inCell1, inCell2]) {
    names[tenant.tenantId] = (await suite.env.call('GET', `/admin/tenants/${tenant.tenantId}`, { token: suite.env.operatorToken })).body.name;
    expect((await tenant.call('POST', '/cases', { body: { title: 'Work', priority: 'low' } })).status).toBe(201);
  }
}, 120_000);
afterAll(() => suite?.stop());

async function operatorAt(path: string, viewport?: { width: number; height: number }): Promise<Page> {
  const page = await suite.newPage(viewport ? { viewport } : {});
  await signInThroughForm(page, suite.appUrl, 'operator', 'operator');
  await page.goto(`${suite.appUrl}console/${path}`);
  return page;
}

const tenantsIn = (page: Page, cellId: string) => page.getByRole('list', { name: `Tenants in ${cellId}` }).getByRole('listitem');

describe('the operator console: cells, releases, usage', () => {
  it('shows which tenants each cell holds, its load against capacity and release, and records a capacity change in the cell’s trail', async () => {
    const page = await operatorAt('cells');
    await page.getByRole('heading', { name: 'cell-1', level: 2 }).waitFor();
    await expect.poll(() => tenantsIn(page, 'cell-1').allTextContents()).toContainEqual(expect.stringContaining(names[inCell1.tenantId] ?? '?'));
    expect(await tenantsIn(page, 'cell-2').allTextContents()).toContainEqual(expect.stringContaining(names[inCell2.tenantId] ?? '?'));
    const cells = (await suite.env.call('GET', '/admin/cells', { token: suite.env.operatorToken })).body.items as { cellId: string; release: { releaseId: string } }[];
    await page
      .getByRole('link', { name: cells[0]?.release.releaseId ?? '?' })
      .first()
      .waitFor();
    await checkScreen(page, 'console-cells');

    const card = page.getByRole('region', { name: 'cell-2' });
    await card.getByText('Change cell-2’s settings').click();
    await card.getByLabel('Capacity (tenants)').fill('150');
    await card.getByLabel('Reason for “Save cell-2 settings”').fill('room for the spring intake');
    await card.getByRole('button', { name: 'Save cell-2 settings' }).click();
    await card.getByText('Settings saved.').waitFor();
    await card.getByText('of 150').waitFor();
    await page.getByLabel('Cell', { exact: true }).selectOption('cell-2');
    await page.getByRole('row', { name: /cell\.updated.*room for the spring intake/ }).waitFor();
    await checkScreen(page, 'console-cells-audit');
  });

  it('lists a release rolling out, shows its waves and gate figures, and aborts it only with a reason', async () => {
    const built = await suite.env.platform.releases.build({ commit: 'console-abort' });
    // A long bake keeps the canary wave baking until the operator aborts it.
    const started = await suite.env.call('POST', '/admin/releases', {
      token: suite.env.operatorToken,
      body: { manifest: built.manifest, gate: { bakeSeconds: 600, maxGateSeconds: 1200 } },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const releaseId: string = started.body.releaseId;
    const page = await operatorAt('releases');
    await page.getByRole('row', { name: new RegExp(`${releaseId}.*rolling-out`) }).waitFor();
    await checkScreen(page, 'console-releases');
    await page.getByRole('link', { name: releaseId }).click();
    await page.getByRole('heading', { name: /Wave 0 \(canary\)/ }).waitFor();
    await page
      .getByRole('table', { name: 'Gate figures per cell, wave 0' })
      .getByRole('row', { name: /cell-1/ })
      .waitFor();
    await checkScreen(page, 'console-release-detail');

    const abort = page.getByRole('button', { name: 'Abort release' });
    expect(await abort.isDisabled()).toBe(true);
    await page.getByLabel('Reason for “Abort release”').fill('wrong build');
    await abort.click();
    await page.getByRole('button', { name: 'Yes, abort release' }).click();
    await page.getByText('aborted', { exact: true }).waitFor({ timeout: 90_000 });
    const after = (await suite.env.call('GET', `/admin/releases/${releaseId}`, { token: suite.env.operatorToken })).body;
    expect(after.status).toBe('aborted');
    expect(after.stopRequested?.reason ?? after.reason).toMatch(/wrong build/);
    await checkScreen(page, 'console-release-aborted');
  }, 120_000);

  it('drains a cell from the console only with a reason and a confirmation, and its tenants move out', async () => {
    const page = await operatorAt('cells');
    const card = page.getByRole('region', { name: 'cell-1' });
    await card.getByText('Drain cell-1').first().click();
    const drain = card.getByRole('button', { name: 'Drain cell-1' });
    expect(await drain.isDisabled()).toBe(true);
    await card.getByLabel('Reason for “Drain cell-1”').fill('host maintenance');
    await drain.click();
    await card.getByRole('button', { name: 'Yes, drain cell-1' }).click();
    await card.getByText(/Draining: \d+ moves? started/).waitFor();
    await card.getByText('draining', { exact: true }).waitFor();
    // The map follows the moves: the tenant ends up listed in cell-2, and cell-1 holds nobody.
    await expect.poll(() => tenantsIn(page, 'cell-2').allTextContents(), { timeout: 60_000 }).toContainEqual(expect.stringContaining(names[inCell1.tenantId] ?? '?'));
    await card.getByText('No tenants.').waitFor({ timeout: 30_000 });
    const moved = (await suite.env.call('GET', `/admin/tenants/${inCell1.tenantId}`, { token: suite.env.operatorToken })).body;
    expect(moved.cellId).toBe('cell-2');
    expect((await inCell1.call('GET', '/cases')).body.items).toHaveLength(1);
    await checkScreen(page, 'console-cells-drained');
  }, 90_000);

  it('shows usage and cost by tenant with a chart and a CSV, and the SLO view', async () => {
    const page = await operatorAt('usage');
    await page.getByRole('heading', { name: 'Error budgets burning' }).waitFor();
    // Metering arrives with the gateway's logs: the report fills in a moment.
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.getByRole('heading', { name: 'Usage and cost, last 30 days' }).waitFor();
          await page.getByText(/Loading usage/).waitFor({ state: 'detached' });
          // The report names tenants by id; the console shows their names.
          return page.getByRole('row', { name: new RegExp(names[inCell2.tenantId] ?? '?') }).count();
        },
        { timeout: 30_000, interval: 1_000 },
      )
      .toBe(1);
    await page.getByRole('figure', { name: 'Cost and revenue by tenant' }).waitFor();
    await page
      .getByText(/No tenant or cell is burning its error budget|Tenants burning their budget/)
      .first()
      .waitFor();
    await checkScreen(page, 'console-usage');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    expect(download.suggestedFilename()).toBe('usage-by-tenant.csv');
    const csv = readFileSync((await download.path()) ?? '', 'utf8');
    expect(csv.split('\n')[0]).toMatch(/^group_by,key,/);
    expect(csv).toContain(inCell2.tenantId);
    await page.getByLabel('Group by').selectOption('tier');
    await page.getByRole('figure', { name: 'Cost and revenue by tier' }).waitFor();
    await checkScreen(page, 'console-usage-by-tier');
  });

  it('fits a phone: the cells screen at 390 px', async () => {
    const page = await operatorAt('cells', { width: 390, height: 844 });
    await page.getByRole('heading', { name: 'cell-2', level: 2 }).waitFor();
    await checkScreen(page, 'console-cells-phone');
  });
});
