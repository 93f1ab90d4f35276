import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootBrowserSuite, checkScreen, signInThroughForm, type BrowserSuite } from './support/browser.js';

/**
 * The front door (issue 11): `/app/` shows the sign-in page; a tenant user and an operator each land
 * on their own face; a first sign-in asks for a new password; a wrong password is said in words.
 */
let suite: BrowserSuite;

beforeAll(async () => {
  suite = await bootBrowserSuite();
}, 120_000);
afterAll(() => suite?.stop());

describe('signing in', () => {
  it('shows the sign-in page to a visitor, and says a wrong password in words', async () => {
    const page = await suite.newPage();
    await page.goto(suite.appUrl);
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in to Cellbook' }).isVisible()).toBe(true);
    await checkScreen(page, 'sign-in');
    await page.getByLabel('Username or e-mail').fill('operator');
    await page.getByLabel('Password', { exact: true }).fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/password/i);
    await checkScreen(page, 'sign-in-refused');
  });

  it('takes an operator to the console and a tenant admin to the product', async () => {
    const tenant = await suite.env.onboard('standard');
    const operator = await suite.newPage();
    await signInThroughForm(operator, suite.appUrl, 'operator', 'operator');
    expect(new URL(operator.url()).pathname).toBe('/app/console/tenants');
    const admin = await suite.newPage();
    await signInThroughForm(admin, suite.appUrl, tenant.username, tenant.password);
    expect(new URL(admin.url()).pathname).toBe('/app/cases');
    // The new screen names the tab and holds the focus, as a page load would: a screen reader announces it.
    await expect.poll(() => admin.title()).toBe('Cases · Cellbook');
    await expect
      .poll(() => admin.evaluate(() => (globalThis as unknown as { document: { activeElement: { tagName: string } | null } }).document.activeElement?.tagName))
      .toBe('H1');
    // A tenant user who types a console address is sent back to their own face.
    await admin.goto(`${suite.appUrl}console/tenants`);
    await expect.poll(() => new URL(admin.url()).pathname).toBe('/app/cases');
  });

  it('asks for a new password at a first sign-in, then signs the user in', async () => {
    const tenant = await suite.env.onboard('standard');
    const invited = await tenant.call('POST', '/users', { body: { email: 'new-agent@example.com', role: 'user' } });
    expect(invited.status).toBe(201);
    const page = await suite.newPage();
    await page.goto(suite.appUrl);
    await page.getByLabel('Username or e-mail').fill('new-agent@example.com');
    await page.getByLabel('Password', { exact: true }).fill(invited.body.temporaryPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    await checkScreen(page, 'sign-in-new-password');
    await page.getByLabel('New password', { exact: true }).fill('My-own-Passw0rd');
    await page.getByLabel('Repeat the new password').fill('My-own-Passw0rd');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.getByRole('banner').waitFor();
    expect(new URL(page.url()).pathname).toBe('/app/cases');
    // The password chosen in the browser is the user's password now.
    await expect(suite.env.signIn('new-agent@example.com', 'My-own-Passw0rd')).resolves.toEqual(expect.any(String));
  });
});
