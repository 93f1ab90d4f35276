import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootBrowserSuite, checkScreen, signInThroughForm, type BrowserSuite } from './support/browser.js';

/**
 * The tenant admin's product (issue 11): inviting a user who then signs in for the first time in
 * their own browser, managing users, the plan and usage, export, analytics and the audit log; and
 * the navigation and pages offering only what the plan and the role allow.
 */
let suite: BrowserSuite;

beforeAll(async () => {
  suite = await bootBrowserSuite();
}, 120_000);
afterAll(() => suite?.stop(), 120_000);

const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 15_000 });

function navLinks(page: Page): Promise<string[]> {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
}

async function openFromNav(page: Page, label: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
  await page.getByRole('heading', { name: label, level: 1 }).waitFor();
}

describe('a tenant admin', () => {
  it('invites a user who signs in for the first time in their own browser and sees the cases', async () => {
    const tenant = await suite.env.onboard('standard');
    await tenant.call('POST', '/cases', { body: { title: 'Welcome pack for new starters', priority: 'low' } });
    const admin = await suite.newPage();
    await signInThroughForm(admin, suite.appUrl, tenant.username, tenant.password);
    await openFromNav(admin, 'Users');
    await admin.getByRole('rowheader', { name: tenant.username }).waitFor();
    await checkScreen(admin, 'product-users');
    const email = `new-${randomUUID().slice(0, 8)}@example.com`;
    await admin.getByLabel('E-mail').fill(email);
    await admin.getByRole('button', { name: 'Invite' }).click();
    const shown = admin.getByText(`Temporary password for ${email}`);
    await shown.waitFor();
    await checkScreen(admin, 'product-users-invited');
    const temporaryPassword = (await shown.locator('code').textContent()) ?? '';
    expect(temporaryPassword.length).toBeGreaterThan(8);
    await admin.getByRole('row', { name: new RegExp(email) }).waitFor();

    const invited = await suite.newPage();
    await invited.goto(suite.appUrl);
    await invited.getByLabel('Username or e-mail').fill(email);
    await invited.getByLabel('Password', { exact: true }).fill(temporaryPassword);
    await invited.getByRole('button', { name: 'Sign in' }).click();
    await invited.getByRole('heading', { name: 'Choose your password' }).waitFor();
    await invited.getByLabel('New password', { exact: true }).fill('Newcomer-Passw0rd');
    await invited.getByLabel('Repeat the new password').fill('Newcomer-Passw0rd');
    await invited.getByRole('button', { name: 'Set password and sign in' }).click();
    await invited.getByRole('link', { name: 'Welcome pack for new starters' }).waitFor();
    // A plain user: no administration in their navigation.
    await poll(() => navLinks(invited)).toEqual(['Cases', 'Plan & usage']);
  }, 90_000);

  it('changes a role, resets a password, signs a user out everywhere and removes them after confirming', async () => {
    const tenant = await suite.env.onboard('standard');
    const email = `staff-${randomUUID().slice(0, 8)}@example.com`;
    await tenant.call('POST', '/users', { body: { email, role: 'user' } });
    const page = await suite.newPage();
    await signInThroughForm(page, suite.appUrl, tenant.username, tenant.password);
    await openFromNav(page, 'Users');
    const row = page.getByRole('row', { name: new RegExp(email) });
    await row.getByRole('button', { name: `Make administrator: ${email}` }).click();
    await poll(() => row.textContent()).toContain('Administrator');
    expect((await tenant.call('GET', '/users')).body.items).toContainEqual(expect.objectContaining({ username: email, role: 'admin' }));

    // A password reset replaces the user's password: it asks first, and nothing happens until confirmed.
    await row.getByRole('button', { name: `Reset password: ${email}` }).click();
    await row.getByRole('button', { name: 'Keep the password' }).click();
    expect(await row.getByText(`Temporary password for ${email}`).count()).toBe(0);
    await row.getByRole('button', { name: `Reset password: ${email}` }).click();
    await row.getByRole('button', { name: `Yes, reset the password of ${email}` }).click();
    await row.getByText(`Temporary password for ${email}`).waitFor();
    await row.getByRole('button', { name: `Sign out everywhere: ${email}` }).click();
    await row.getByText(`${email} is signed out on every device.`).waitFor();
    await checkScreen(page, 'product-users-actions');

    await row.getByRole('button', { name: `Remove: ${email}` }).click();
    // Nothing is removed until the admin confirms.
    expect((await tenant.call('GET', '/users')).body.items).toContainEqual(expect.objectContaining({ username: email }));
    await row.getByRole('button', { name: `Yes, remove ${email}` }).click();
    await poll(() => page.getByRole('row', { name: new RegExp(email) }).count()).toBe(0);
    expect((await tenant.call('GET', '/users')).body.items).not.toContainEqual(expect.objectContaining({ username: email }));
  }, 90_000);

  it('sees the plan and usage, and exports the organisation’s data', async () => {
    const tenant = await suite.env.onboard('standard');
    await tenant.call('POST', '/cases', { body: { title: 'Counted case', priority: 'low' } });
    const page = await suite.newPage();
    await signInThroughForm(page, suite.appUrl, tenant.username, tenant.password);
    await poll(() => navLinks(page)).toEqual(['Cases', 'Users', 'Export', 'Plan & usage']);
    await openFromNav(page, 'Plan & usage');
    await poll(() => page.getByRole('main').textContent()).toMatch(/Active cases1 of 25,000/);
    expect(await page.getByRole('main').textContent()).toContain('Analytics: not included');
    await checkScreen(page, 'product-plan');

    await openFromNav(page, 'Export');
    await page.getByText('No exports yet').waitFor();
    await checkScreen(page, 'product-export-empty');
    await page.getByRole('button', { name: 'Export all data' }).click();
    // The page polls while the job runs, and offers the parts once it is ready.
    const part = page.getByRole('link', { name: /^Part 1/ });
    await part.waitFor({ timeout: 60_000 });
    await checkScreen(page, 'product-export-ready');
    const archive = await fetch((await part.getAttribute('href')) ?? '');
    expect(archive.status).toBe(200);
    expect(
      Buffer.from(await archive.arrayBuffer())
        .subarray(0, 2)
        .toString(),
    ).toBe('PK');
  }, 120_000);

  it('reads analytics, changes the target age and filters the audit log (premium)', async () => {
    const tenant = await suite.env.onboard('premium');
    const created = await tenant.call('POST', '/cases', { body: { title: 'Analysed case', priority: 'high' } });
    await tenant.call('PATCH', `/cases/${created.body.caseId}`, { body: { status: 'IN_PROGRESS' } });
    await tenant.call('PATCH', `/cases/${created.body.caseId}`, { body: { status: 'RESOLVED' } });
    await tenant.call('POST', '/cases', { body: { title: 'Still open', priority: 'low' } });
    const page = await suite.newPage();
    await signInThroughForm(page, suite.appUrl, tenant.username, tenant.password);
    await poll(() => navLinks(page)).toEqual(['Cases', 'Analytics', 'Users', 'Export', 'Audit log', 'Plan & usage']);
    await openFromNav(page, 'Analytics');
    await page.getByRole('img', { name: /Cases per day: Created 2 in all, Resolved 1 in all/ }).waitFor();
    await checkScreen(page, 'product-analytics');
    await page.getByLabel('Target age (hours)').fill('24');
    await page.getByRole('button', { name: 'Save target age' }).click();
    await page.getByText('Target age saved.').waitFor();
    await poll(() => page.getByRole('region', { name: 'Past target age' }).textContent()).toContain('older than 24 hours');
    expect((await tenant.call('GET', '/analytics/settings')).body).toEqual({ targetAgeHours: 24 });

    await openFromNav(page, 'Audit log');
    await page.getByRole('cell', { name: 'case.create' }).first().waitFor();
    await checkScreen(page, 'product-audit');
    await page.getByLabel('Action').fill('case.update');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const actions = () => page.getByRole('table').locator('tbody tr td:nth-child(3)').allTextContents();
    await poll(actions).toEqual(['case.update', 'case.update']);
  }, 90_000);
});

describe('what the plan and the role allow', () => {
  it('shows a plain user no administration, and says so at an admin page’s address', async () => {
    const tenant = await suite.env.onboard('premium');
    const email = `plain-${randomUUID().slice(0, 8)}@example.com`;
    const invited = await tenant.call('POST', '/users', { body: { email, role: 'user' } });
    await suite.env.signIn(email, invited.body.temporaryPassword, 'Plain-user-Passw0rd');
    const page = await suite.newPage();
    await signInThroughForm(page, suite.appUrl, email, 'Plain-user-Passw0rd');
    await poll(() => navLinks(page)).toEqual(['Cases', 'Analytics', 'Plan & usage']);
    for (const path of ['users', 'audit', 'export']) {
      await page.goto(`${suite.appUrl}${path}`);
      await page.getByText('Only administrators of your organisation can see this page.').waitFor();
    }
    await checkScreen(page, 'product-admin-only');
  }, 60_000);

  it('shows a basic tenant only its plan’s features', async () => {
    const tenant = await suite.env.onboard('basic');
    const created = await tenant.call('POST', '/cases', { body: { title: 'Basic case', priority: 'low' } });
    const page = await suite.newPage();
    await signInThroughForm(page, suite.appUrl, tenant.username, tenant.password);
    await poll(() => navLinks(page)).toEqual(['Cases', 'Users', 'Plan & usage']);
    for (const path of ['analytics', 'audit', 'export']) {
      await page.goto(`${suite.appUrl}${path}`);
      await page.getByText(/not part of your organisation’s plan \(basic\)/).waitFor();
    }
    await checkScreen(page, 'product-not-in-plan');
    await page.goto(`${suite.appUrl}cases/${created.body.caseId}`);
    await page.getByRole('heading', { name: 'Notes' }).waitFor();
    // The plan is known once the navigation shows it (it comes from the same /me): only then does the
    // absence of the evidence section mean the plan hid it, not that /me was still on its way.
    await poll(() => navLinks(page)).toEqual(['Cases', 'Users', 'Plan & usage']);
    expect(await page.getByRole('heading', { name: 'Evidence' }).count()).toBe(0);
  }, 60_000);
});
