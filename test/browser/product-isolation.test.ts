import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootBrowserSuite, checkScreen, signInThroughForm, type BrowserSuite } from './support/browser.js';

/**
 * One tenant's UI never shows another's data (issue 11). Tenants A and B (premium: every screen)
 * each have cases with titles no one else uses; B visits every screen it has, A's case by its URL,
 * and a tab where A signs out and B signs in, and A's titles and ids never appear in B's pages.
 */
let suite: BrowserSuite;
type Tenant = Awaited<ReturnType<BrowserSuite['env']['onboard']>>;
let tenantA: Tenant;
let tenantB: Tenant;
/** Everything of A's that must never be in a page of B's: its cases' titles and ids, its tenant id, its admin. */
const markersOfA: string[] = [];
let caseOfA = '';
const titleOfB = `Heron ledger ${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  suite = await bootBrowserSuite();
  tenantA = await suite.env.onboard('premium');
  tenantB = await suite.env.onboard('premium');
  for (const status of ['OPEN', 'IN_PROGRESS', 'RESOLVED'] as const) {
    const title = `Aardvark secret ${status} ${randomUUID().slice(0, 8)}`;
    const created = await tenantA.call('POST', '/cases', { body: { title, priority: 'urgent' } });
    expect(created.status).toBe(201);
    if (status !== 'OPEN') await tenantA.call('PATCH', `/cases/${created.body.caseId}`, { body: { status: 'IN_PROGRESS' } });
    if (status === 'RESOLVED') await tenantA.call('PATCH', `/cases/${created.body.caseId}`, { body: { status: 'RESOLVED' } });
    await tenantA.call('POST', `/cases/${created.body.caseId}/notes`, { body: { body: `Aardvark note ${created.body.caseId}` } });
    markersOfA.push(title);
    // The first case's id is the address B tries: B's own request for it is then in B's own audit
    // trail (B typed it; it tells B nothing of A), so only the other ids are markers.
    if (caseOfA) markersOfA.push(created.body.caseId);
    else caseOfA = created.body.caseId;
  }
  markersOfA.push(tenantA.tenantId, tenantA.username, 'Aardvark');
  expect((await tenantB.call('POST', '/cases', { body: { title: titleOfB, priority: 'low' } })).status).toBe(201);
}, 180_000);
afterAll(() => suite?.stop(), 120_000);

/** The few browser globals the page-side functions below use (the test project has no DOM typings). */
interface PageGlobals {
  document: { body: { textContent: string | null } };
  MutationObserver: new (callback: () => void) => { observe(target: unknown, options: Record<string, boolean>): void };
  leaked?: Set<string>;
}

/** The page's whole text, hidden parts included (a table behind <details>, a select's options). */
async function textOf(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).document.body.textContent ?? '');
}

async function expectNoneOfA(page: Page, screen: string): Promise<void> {
  const text = await textOf(page);
  expect(
    markersOfA.filter((marker) => text.includes(marker)),
    `A's data on B's screen "${screen}"`,
  ).toEqual([]);
}

describe('tenant isolation in the UI', () => {
  it('shows B none of A’s cases on any screen, and A’s case address as not found', async () => {
    // The markers are real: A's own list shows them.
    const pageA = await suite.newPage();
    await signInThroughForm(pageA, suite.appUrl, tenantA.username, tenantA.password);
    await pageA.getByRole('link', { name: markersOfA[0] }).waitFor();

    const page = await suite.newPage();
    await signInThroughForm(page, suite.appUrl, tenantB.username, tenantB.password);
    await page.getByRole('link', { name: titleOfB }).waitFor();
    await expectNoneOfA(page, 'cases');
    for (const status of ['OPEN', 'IN_PROGRESS', 'RESOLVED', 'CLOSED']) {
      await page.getByLabel('Status').selectOption(status);
      await page
        .getByRole('table')
        .or(page.getByText(/^No .* cases\./))
        .first()
        .waitFor();
      await expect.poll(() => page.getByLabel('Status').inputValue()).toBe(status);
      await expectNoneOfA(page, `cases ${status}`);
    }

    await page.goto(`${suite.appUrl}cases/${caseOfA}`);
    await page.getByRole('heading', { name: 'Case not found' }).waitFor();
    await expectNoneOfA(page, 'A’s case by its address');
    expect(await textOf(page)).not.toContain(caseOfA);
    await checkScreen(page, 'product-case-not-found');

    const screens: [string, string, (page: Page) => ReturnType<Page['getByRole']>][] = [
      ['analytics', 'Analytics', (p) => p.getByRole('heading', { name: 'Time to resolve' })],
      ['audit', 'Audit log', (p) => p.getByRole('cell', { name: 'case.list' }).first()],
      ['users', 'Users', (p) => p.getByRole('rowheader', { name: tenantB.username })],
      ['plan', 'Plan & usage', (p) => p.getByRole('heading', { name: 'Usage' })],
    ];
    for (const [path, heading, ready] of screens) {
      await page.goto(`${suite.appUrl}${path}`);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await ready(page).waitFor();
      await expectNoneOfA(page, heading);
    }
    // B's audit log names B's own requests, A's never: not even when B filters on A's case.
    await page.goto(`${suite.appUrl}audit`);
    await page.getByLabel('Action').fill('case.read');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('table').or(page.getByText('Nothing recorded matches')).first().waitFor();
    await expectNoneOfA(page, 'audit filtered');
  }, 120_000);

  it('shows the next user of a tab none of the previous user’s data after sign-out', async () => {
    const page = await suite.newPage();
    await signInThroughForm(page, suite.appUrl, tenantA.username, tenantA.password);
    await page.getByRole('link', { name: markersOfA[0] }).click();
    await page.getByRole('heading', { name: markersOfA[0] }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('cell', { name: 'case.read' }).first().waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cases' }).click();
    await page.getByRole('link', { name: markersOfA[0] }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();

    // Same tab, no reload: whatever the app kept in memory from A is still there to leak.
    await page.getByRole('heading', { name: 'Sign in to Cellbook' }).waitFor();
    await page.evaluate((markers) => {
      const page = globalThis as unknown as PageGlobals;
      const seen = new Set<string>();
      page.leaked = seen;
      new page.MutationObserver(() => {
        const text = page.document.body.textContent ?? '';
        for (const marker of markers) if (text.includes(marker)) seen.add(marker);
      }).observe(page.document.body, { subtree: true, childList: true, characterData: true });
    }, markersOfA);
    await page.getByLabel('Username or e-mail').fill(tenantB.username);
    await page.getByLabel('Password', { exact: true }).fill(tenantB.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // The first cases table B is shown must already be B's.
    await page.getByRole('table').waitFor();
    await expectNoneOfA(page, 'cases right after the switch');
    await page.getByRole('link', { name: titleOfB }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('cell', { name: 'case.list' }).first().waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cases' }).click();
    await page.getByRole('link', { name: titleOfB }).waitFor();
    const leaked = await page.evaluate(() => [...((globalThis as unknown as PageGlobals).leaked ?? [])]);
    expect(leaked, 'A’s data shown to B at any moment after the switch').toEqual([]);
    await expectNoneOfA(page, 'cases after the switch');
  }, 60_000);
});
