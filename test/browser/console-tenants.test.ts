import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootBrowserSuite, checkScreen, signInThroughForm, type BrowserSuite } from './support/browser.js';

/**
 * The operator console's tenant screens (issue 11): an operator onboards a tenant and moves it while
 * its admin keeps working, suspends and reactivates it, exports and offboards it — all in the browser.
 * The tenant's own work goes through the API with the token its admin got by signing in in the
 * browser (the product's case screens are another lane's).
 */
let suite: BrowserSuite;

beforeAll(async () => {
  suite = await bootBrowserSuite();
}, 120_000);
afterAll(() => suite?.stop());

async function operatorPage(viewport?: { width: number; height: number }): Promise<Page> {
  const page = await suite.newPage(viewport ? { viewport } : {});
  await signInThroughForm(page, suite.appUrl, 'operator', 'operator');
  return page;
}

/** Onboards a tenant through the console's form; answers what the one-time screen shows. */
async function onboardInConsole(page: Page, name: string, email: string, tier = 'standard'): Promise<{ tenantId: string; password: string }> {
  await page.getByRole('link', { name: 'Onboard a tenant' }).click();
  await page.getByLabel('Organisation name').fill(name);
  await page.getByLabel('Tier').selectOption(tier);
  await page.getByLabel('Administrator’s e-mail').fill(email);
  await page.getByRole('button', { name: 'Onboard', exact: true }).click();
  await page.getByText(`${name} is onboarded`).waitFor();
  const password = (await page.locator('dd code').textContent()) ?? '';
  await page.getByRole('link', { name: `Open ${name}` }).click();
  await page.getByRole('heading', { level: 1, name }).waitFor();
  const tenantId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
  return { tenantId, password };
}

/** The admin's first sign-in, in their own browser profile; answers their access token. */
async function firstSignIn(username: string, temporaryPassword: string, chosen: string): Promise<string> {
  const page = await suite.newPage();
  await page.goto(suite.appUrl);
  await page.getByLabel('Username or e-mail').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(temporaryPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('New password', { exact: true }).fill(chosen);
  await page.getByLabel('Repeat the new password').fill(chosen);
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await page.getByRole('banner').waitFor();
  // The token the app keeps for the tab (api/session.ts): the same the product's screens would send.
  const stored = await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage.getItem('cellbook.session'));
  return (JSON.parse(stored ?? '{}') as { accessToken: string }).accessToken;
}

/** Creates a case as the tenant's user would: a 503 (tenant moving) is retried after its Retry-After, as the API asks. */
async function createCase(token: string, title: string): Promise<{ id: string; retries: number }> {
  for (let retries = 0; ; retries += 1) {
    const response = await suite.env.call('POST', '/cases', { token, body: { title, priority: 'medium' } });
    if (response.status === 201) return { id: response.body.caseId, retries };
    expect(response.status, JSON.stringify(response.body)).toBe(503);
    const wait = Number(response.headers.get('retry-after') ?? 1);
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
}

async function allCaseIds(token: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await suite.env.call('GET', `/cases?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token });
    expect(page.status).toBe(200);
    for (const item of page.body.items) ids.add(item.caseId);
    cursor = page.body.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

describe('the operator console: tenants', () => {
  it('onboards a tenant from the form, and moves it with live progress while its admin keeps creating cases — none lost', async () => {
    const operator = await operatorPage();
    await checkScreen(operator, 'console-tenants');
    const suffix = randomUUID().slice(0, 6);
    const name = `Acme ${suffix}`;
    const email = `admin-${suffix}@acme.example`;
    await operator.getByRole('link', { name: 'Onboard a tenant' }).click();
    await checkScreen(operator, 'console-onboard');
    await operator.goBack();
    const { tenantId, password } = await onboardInConsole(operator, name, email);
    expect(password.length).toBeGreaterThan(7);
    await checkScreen(operator, 'console-tenant-detail');
    const fromCell = await operator
      .getByRole('link', { name: /^cell-/ })
      .first()
      .textContent();

    // The new admin signs in with the one-time password, in their own browser, and starts working.
    const token = await firstSignIn(email, password, `Acme-${suffix}-Passw0rd`);
    const created: string[] = [];
    let retried = 0;
    let moveOver = false;
    const work = (async () => {
      // Keeps working until the move is over, and a few cases beyond (in the new cell).
      for (let after = 0; after < 3; ) {
        const result = await createCase(token, `Case ${created.length + 1}`);
        created.push(result.id);
        retried += result.retries;
        if (moveOver) after += 1;
      }
    })();
    await expect.poll(() => created.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);

    try {
      // The operator moves it to the least-loaded other cell and watches it to the end.
      await operator.getByLabel('Target cell').selectOption('');
      await operator.getByLabel('Reason for “Start move”').fill('rebalancing');
      await operator.getByRole('button', { name: 'Start move' }).click();
      await operator.getByRole('heading', { name: 'Move in progress' }).waitFor();
      await checkScreen(operator, 'console-tenant-moving');
      await operator.getByText(/Move finished/).waitFor({ timeout: 60_000 });
      const seen = await operator.getByRole('list', { name: 'States seen' }).getByRole('listitem').allTextContents();
      expect(seen[0]).toMatch(/^requested/);
      expect(seen[seen.length - 1]).toMatch(/^done/);
      expect(seen.length).toBeGreaterThanOrEqual(2);
      const toCell = await operator
        .getByRole('link', { name: /^cell-/ })
        .first()
        .textContent();
      expect(toCell).not.toBe(fromCell);
      await checkScreen(operator, 'console-tenant-moved');
    } finally {
      // The user stops a few cases after the move (or after a failure, so that nothing runs past the test).
      moveOver = true;
      await work;
    }
    // Every case the user created, before, during and after the switch, is there in the new cell.
    const stored = await allCaseIds(token);
    expect(created.filter((id) => !stored.has(id))).toEqual([]);
    expect(created.length).toBeGreaterThanOrEqual(6);
    // The trail says who moved it and why.
    await operator.getByRole('row', { name: /tenant\.moved/ }).waitFor();
    console.info(`cases created: ${created.length}, retried after 503: ${retried}`);
    // And the list finds it by name or id.
    await operator.getByRole('link', { name: 'All tenants' }).click();
    await operator.getByLabel('Search by name or id').fill(tenantId.slice(0, 10));
    await operator.getByRole('link', { name }).waitFor();
    expect(await operator.getByRole('table').getByRole('row').count()).toBe(2);
  }, 120_000);

  it('changes a tenant’s tier, suspends it (its API answers 403), reactivates it (it works again), exports and offboards it only once suspended and named', async () => {
    const tenant = await suite.env.onboard('basic');
    const { body: record } = await suite.env.call('GET', `/admin/tenants/${tenant.tenantId}`, { token: suite.env.operatorToken });
    const operator = await operatorPage();
    await operator.goto(`${suite.appUrl}console/tenants/${tenant.tenantId}`);
    await operator.getByRole('heading', { level: 1, name: record.name }).waitFor();
    // An active tenant cannot be offboarded: the console says to suspend first and offers no button.
    expect(await operator.getByRole('button', { name: 'Offboard for good' }).count()).toBe(0);
    await operator.getByText('Only a suspended tenant can be offboarded').waitFor();

    // An upsell: the tier changes at once, with its reason in the trail.
    await operator.getByLabel('New tier').selectOption('standard');
    await operator.getByLabel('Reason for “Change tier”').fill('upsell');
    await operator.getByRole('button', { name: 'Change tier' }).click();
    await operator.getByText(/Tier change recorded/).waitFor();
    expect((await suite.env.call('GET', `/admin/tenants/${tenant.tenantId}`, { token: suite.env.operatorToken })).body.tier).toBe('standard');
    await operator.getByRole('row', { name: /tenant\.tier-changed.*upsell/ }).waitFor();

    // Suspending needs a reason and a confirmation.
    const suspend = operator.getByRole('button', { name: 'Suspend', exact: true });
    expect(await suspend.isDisabled()).toBe(true);
    await operator.getByLabel('Reason for “Suspend”').fill('unpaid invoice');
    await suspend.click();
    await operator.getByRole('button', { name: 'Yes, suspend' }).click();
    await operator.getByRole('button', { name: 'Reactivate' }).waitFor();
    expect((await tenant.call('GET', '/cases')).status).toBe(403);
    await checkScreen(operator, 'console-tenant-suspended');

    await operator.getByRole('button', { name: 'Reactivate' }).click();
    await operator.getByRole('button', { name: 'Suspend', exact: true }).waitFor();
    await expect.poll(async () => (await tenant.call('GET', '/cases')).status).toBe(200);
    expect((await tenant.call('POST', '/cases', { body: { title: 'Back at work', priority: 'low' } })).status).toBe(201);

    // Contract ended: suspend, download the export (every page, one file), offboard after typing the name.
    await operator.getByLabel('Reason for “Suspend”').fill('contract ended');
    await operator.getByRole('button', { name: 'Suspend', exact: true }).click();
    await operator.getByRole('button', { name: 'Yes, suspend' }).click();
    await operator.getByRole('button', { name: 'Reactivate' }).waitFor();
    const [download] = await Promise.all([operator.waitForEvent('download'), operator.getByRole('button', { name: 'Download export' }).click()]);
    expect(download.suggestedFilename()).toBe(`${tenant.tenantId}-export.jsonl`);
    const lines = readFileSync((await download.path()) ?? '', 'utf8')
      .trim()
      .split('\n');
    const tables = new Set(lines.map((line) => (JSON.parse(line) as { table: string }).table));
    expect(tables).toEqual(new Set(['registry', 'cell']));
    await operator.getByText(`Export ready: ${lines.length} items downloaded.`).waitFor();

    const offboard = operator.getByRole('button', { name: 'Offboard for good' });
    await operator.getByLabel('Tenant name, to confirm').fill(record.name.toUpperCase());
    expect(await offboard.isDisabled()).toBe(true);
    await operator.getByLabel('Tenant name, to confirm').fill(record.name);
    await checkScreen(operator, 'console-tenant-offboard');
    await offboard.click();
    await operator.getByText('This tenant is offboarded').waitFor();
    const { body: after } = await suite.env.call('GET', `/admin/tenants/${tenant.tenantId}`, { token: suite.env.operatorToken });
    expect(after.status).toBe('OFFBOARDED');
    await operator.getByRole('row', { name: /tenant\.suspended.*unpaid invoice/ }).waitFor();
  }, 90_000);

  it('onboards once when the answer to the first submission is lost and the operator submits again', async () => {
    const operator = await operatorPage();
    const suffix = randomUUID().slice(0, 6);
    let dropped = 0;
    // The first answer is lost on the way back (the request reached the platform and did its work).
    await operator.route('**/admin/tenants', async (route) => {
      if (route.request().method() !== 'POST' || dropped > 0) return route.fallback();
      dropped += 1;
      await route.fetch();
      await route.abort('connectionreset');
    });
    await operator.getByRole('link', { name: 'Onboard a tenant' }).click();
    await operator.getByLabel('Organisation name').fill(`Initech ${suffix}`);
    await operator.getByLabel('Administrator’s e-mail').fill(`admin-${suffix}@initech.example`);
    await operator.getByRole('button', { name: 'Onboard', exact: true }).click();
    await operator
      .getByRole('alert')
      .getByText(/could not be reached/)
      .waitFor();
    await checkScreen(operator, 'console-onboard-failed');
    await operator.getByRole('button', { name: 'Onboard', exact: true }).click();
    await operator.getByText(`Initech ${suffix} is onboarded`).waitFor();
    expect(dropped).toBe(1);
    const { body } = await suite.env.call('GET', '/admin/tenants?limit=100', { token: suite.env.operatorToken });
    expect((body.items as { name: string }[]).filter((tenant) => tenant.name === `Initech ${suffix}`)).toHaveLength(1);
  });

  it('fits a phone: the tenant list at 390 px', async () => {
    const operator = await operatorPage({ width: 390, height: 844 });
    await operator.getByRole('table').waitFor();
    await operator.getByLabel('Status').selectOption('ACTIVE');
    await operator.getByRole('table').waitFor();
    await checkScreen(operator, 'console-tenants-phone');
  });
});
