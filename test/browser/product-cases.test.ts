import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootBrowserSuite, checkScreen, signInThroughForm, type BrowserSuite } from './support/browser.js';

/**
 * The product's cases (issue 11): a tenant user takes a case from creation to closure in the
 * browser, an admin assigns from the tenant's users, the list filters and pages, and a standard
 * tenant's evidence goes to S3 and back, all of it as the API then reports it.
 */
let suite: BrowserSuite;

beforeAll(async () => {
  suite = await bootBrowserSuite();
}, 120_000);
afterAll(() => suite?.stop(), 120_000);

/** Waits for what the screen shows to settle (the platform answers in its own time on 2 shared cores). */
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 15_000 });

/** A plain user of `tenant` with a password of their own (invited and first-signed-in through the API). */
async function plainUser(tenant: Awaited<ReturnType<BrowserSuite['env']['onboard']>>) {
  const email = `agent-${randomUUID().slice(0, 8)}@example.com`;
  const invited = await tenant.call('POST', '/users', { body: { email, role: 'user' } });
  expect(invited.status).toBe(201);
  const password = `Agent-${randomUUID().slice(0, 8)}-Pass1`;
  await suite.env.signIn(email, invited.body.temporaryPassword, password);
  return { email, password };
}

describe('cases in the product', () => {
  it('takes a user’s case from creation to closure, and the API agrees', async () => {
    const tenant = await suite.env.onboard('standard');
    const user = await plainUser(tenant);
    const page = await suite.newPage();
    await signInThroughForm(page, suite.appUrl, user.email, user.password);
    await page.getByText('No cases yet').waitFor();
    await checkScreen(page, 'product-cases-empty');

    await page.getByRole('link', { name: 'New case' }).click();
    await page.getByRole('heading', { name: 'New case' }).waitFor();
    await checkScreen(page, 'product-case-new');
    await page.getByLabel('Title').fill('Printer on fire');
    await page.getByLabel('Description').fill('Third floor, near the kitchen.');
    await page.getByLabel('Priority').selectOption('high');
    await page.getByRole('button', { name: 'Create case' }).click();
    await page.getByRole('heading', { name: 'Printer on fire', level: 1 }).waitFor();
    const caseId = new URL(page.url()).pathname.split('/').at(-1) ?? '';
    const facts = page.getByRole('region', { name: 'Details' });
    expect(await facts.textContent()).toContain('High');
    // A new case offers only the move its status allows.
    expect(await page.getByRole('region', { name: 'Status' }).getByRole('button').allTextContents()).toEqual(['Start work', 'Assign to me']);

    await page.getByLabel('New note').fill('Extinguisher used; smells of toner.');
    await page.getByRole('button', { name: 'Add note' }).click();
    await page.getByRole('region', { name: 'Notes' }).getByText('Extinguisher used; smells of toner.').waitFor();
    await page.getByRole('button', { name: 'Assign to me' }).click();
    await poll(() => facts.textContent()).toContain(user.email);
    await checkScreen(page, 'product-case-detail');

    for (const [button, status] of [
      ['Start work', 'In progress'],
      ['Mark resolved', 'Resolved'],
      ['Close', 'Closed'],
    ] as const) {
      await page.getByRole('button', { name: button, exact: true }).click();
      await poll(() => page.getByRole('region', { name: 'Status' }).textContent()).toContain(`Now ${status}.`);
    }
    // A closed case can only be reopened.
    expect(
      await page
        .getByRole('region', { name: 'Status' })
        .getByRole('button', { name: /Start work|Mark resolved|Close/ })
        .count(),
    ).toBe(0);
    await page.getByRole('button', { name: 'Reopen' }).waitFor();

    const stored = await tenant.call('GET', `/cases/${caseId}`);
    expect(stored.body).toMatchObject({ title: 'Printer on fire', priority: 'high', status: 'CLOSED', assignee: user.email });
    const notes = await tenant.call('GET', `/cases/${caseId}/notes`);
    expect(notes.body.items).toEqual([expect.objectContaining({ body: 'Extinguisher used; smells of toner.', author: user.email })]);

    // Back on the list, the case shows as closed, also under the Closed filter.
    await page.getByRole('link', { name: 'Back to the cases' }).first().click();
    await page.getByLabel('Status').selectOption('CLOSED');
    const row = page.getByRole('row', { name: /Printer on fire/ });
    await poll(() => row.textContent()).toContain('Closed');
    await page.getByLabel('Status').selectOption('OPEN');
    await page.getByText('No open cases.').waitFor();
  });

  it('lets an admin assign a case to a user of the tenant and edit its title and priority', async () => {
    const tenant = await suite.env.onboard('standard');
    const user = await plainUser(tenant);
    const created = await tenant.call('POST', '/cases', { body: { title: 'Badge reader broken', priority: 'low' } });
    const page = await suite.newPage();
    await signInThroughForm(page, suite.appUrl, tenant.username, tenant.password);
    await page.getByRole('link', { name: 'Badge reader broken' }).click();
    await page.getByRole('heading', { name: 'Badge reader broken', level: 1 }).waitFor();
    await poll(() => page.getByLabel('Assignee').locator('option').allTextContents()).toContain(user.email);
    await page.getByLabel('Assignee').selectOption(user.email);
    await page.getByRole('button', { name: 'Assign', exact: true }).click();
    await poll(() => page.getByRole('region', { name: 'Details' }).textContent()).toContain(user.email);
    await page.getByRole('region', { name: 'Edit' }).getByLabel('Title').fill('Badge reader broken at gate 2');
    await page.getByRole('region', { name: 'Edit' }).getByLabel('Priority').selectOption('urgent');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'Badge reader broken at gate 2', level: 1 }).waitFor();
    await checkScreen(page, 'product-case-detail-admin');
    const stored = await tenant.call('GET', `/cases/${created.body.caseId}`);
    expect(stored.body).toMatchObject({ title: 'Badge reader broken at gate 2', priority: 'urgent', assignee: user.email });
  });

  it('pages through the list with Next and Previous, on a phone too', async () => {
    const tenant = await suite.env.onboard('standard');
    for (let index = 1; index <= 23; index += 1) {
      const response = await tenant.call('POST', '/cases', { body: { title: `Ticket ${String(index).padStart(2, '0')}`, priority: 'medium' } });
      expect(response.status).toBe(201);
    }
    const page = await suite.newPage({ viewport: { width: 390, height: 844 } });
    await signInThroughForm(page, suite.appUrl, tenant.username, tenant.password);
    const titles = () => page.getByRole('table').getByRole('link').allTextContents();
    await poll(titles).toHaveLength(20);
    const first = await titles();
    expect(first[0]).toBe('Ticket 01');
    await checkScreen(page, 'product-cases-list-phone');
    await page.getByRole('button', { name: 'Next' }).click();
    await poll(titles).toEqual(['Ticket 21', 'Ticket 22', 'Ticket 23']);
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous' }).click();
    await poll(titles).toEqual(first);
    // The phone's menu holds the navigation.
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Plan & usage' }).click();
    await page.getByRole('heading', { name: 'Plan & usage' }).waitFor();
    await page.getByText('Active cases').waitFor();
    await checkScreen(page, 'product-plan-phone');
  });

  it('uploads evidence from the browser straight to storage and downloads the same bytes', async () => {
    const tenant = await suite.env.onboard('standard');
    const created = await tenant.call('POST', '/cases', { body: { title: 'Water leak', priority: 'medium' } });
    const page = await suite.newPage();
    await signInThroughForm(page, suite.appUrl, tenant.username, tenant.password);
    await page.goto(`${suite.appUrl}cases/${created.body.caseId}`);
    await page.getByText('No files yet').waitFor();
    const content = `meter reading ${randomUUID()}\n`;
    await page.getByLabel('File to attach').setInputFiles({ name: 'reading.txt', mimeType: 'text/plain', buffer: Buffer.from(content) });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByText('reading.txt is stored.').waitFor();
    const row = page.getByRole('row', { name: /reading\.txt/ });
    await poll(() => row.textContent()).toContain('Available');
    await page.getByRole('button', { name: 'Get download link: reading.txt' }).click();
    const link = page.getByRole('link', { name: 'Download reading.txt' });
    await link.waitFor();
    await checkScreen(page, 'product-case-evidence');
    const downloaded = await fetch((await link.getAttribute('href')) ?? '');
    expect(await downloaded.text()).toBe(content);
    const listed = await tenant.call('GET', `/cases/${created.body.caseId}/evidence`);
    expect(listed.body.items).toEqual([expect.objectContaining({ name: 'reading.txt', status: 'AVAILABLE', size: Buffer.byteLength(content) })]);

    await page.getByRole('button', { name: 'Delete: reading.txt' }).click();
    await page.getByRole('button', { name: 'Yes, delete reading.txt' }).click();
    await page.getByText('No files yet').waitFor();
    expect((await tenant.call('GET', `/cases/${created.body.caseId}/evidence`)).body.items).toEqual([]);
  });
});
