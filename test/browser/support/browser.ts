/**
 * The browser suite's harness (issue 11): Debian's Chromium driven by playwright-core (Playwright's
 * own browser download cannot work on these machines), against a local platform booted per suite on
 * ephemeral ports, whose router serves the built web app at `/app/` as `npm start` does
 * (`packages/web/dist`, built by the vitest global setup).
 * Each screen a test reaches is checked with axe-core and kept as a screenshot in
 * `.cellbook/screenshots/` (CI's artefacts).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { bootTestPlatform, type TestPlatform } from '../../support/platform.js';

const require = createRequire(import.meta.url);
const AXE_SOURCE: string = (require('axe-core') as { source: string }).source;

export const SCREENSHOT_DIR = resolve('.cellbook/screenshots');

/** Where Chromium is: CHROMIUM_PATH, else Debian's package (`.ci/run` installs it when missing). */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(`Chromium not found at ${path}: install Debian's package (sudo apt-get install -y chromium), or set CHROMIUM_PATH. .ci/run installs it.`);
  }
  return path;
}

/**
 * Headless Chromium with every background connection off: this machine's network is closed, and
 * Chromium's own calls home (component updates, sync, safe browsing) would only fail and slow it.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-features=Translate,OptimizationHints,MediaRouter',
    ],
  });
}

export interface BrowserSuite {
  env: TestPlatform;
  browser: Browser;
  /** The app's address on the router's origin. */
  appUrl: string;
  /** A fresh browser profile (own cookies and storage): one per person in a test. */
  newPage(options?: { viewport?: { width: number; height: number } }): Promise<Page>;
  stop(): Promise<void>;
}

/** Boots a platform and a browser for one suite. */
export async function bootBrowserSuite(options: Parameters<typeof bootTestPlatform>[0] = {}): Promise<BrowserSuite> {
  const [env, browser] = await Promise.all([bootTestPlatform(options), launchBrowser()]);
  const contexts: BrowserContext[] = [];
  return {
    env,
    browser,
    appUrl: `${env.url}/app/`,
    async newPage({ viewport = { width: 1280, height: 800 } } = {}) {
      const context = await browser.newContext({ viewport, baseURL: env.url, locale: 'en-GB', timezoneId: 'UTC' });
      contexts.push(context);
      const page = await context.newPage();
      // An exception the app did not catch fails the next screen check of the test that caused it.
      page.on('pageerror', (error) => pageErrors.set(page, [...(pageErrors.get(page) ?? []), error.message]));
      return page;
    },
    async stop() {
      await Promise.allSettled(contexts.map((context) => context.close()));
      await browser.close().catch(() => undefined);
      await env.stop();
    },
  };
}

/** Signs in through the form, as a person would; lands on the face's home page. */
export async function signInThroughForm(page: Page, appUrl: string, username: string, password: string): Promise<void> {
  await page.goto(appUrl);
  await page.getByLabel('Username or e-mail').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('banner').waitFor();
}

const pageErrors = new WeakMap<Page, string[]>();

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/**
 * Runs axe-core on the page as it is and expects no serious or critical violation; keeps a
 * screenshot named `screen` either way. axe is evaluated through the DevTools protocol, which the
 * app's CSP (no inline scripts) does not govern.
 */
export async function checkScreen(page: Page, screen: string): Promise<void> {
  expect(pageErrors.get(page) ?? [], `uncaught errors in the app before screen "${screen}"`).toEqual([]);
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: resolve(SCREENSHOT_DIR, `${screen}.png`), fullPage: true });
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is a global the evaluated source installed.
    const axe = (globalThis as any).axe;
    const result = await axe.run((globalThis as { document?: unknown }).document, { resultTypes: ['violations'] });
    return result.violations as AxeViolation[];
  });
  const serious = violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.impact} ${violation.id}: ${violation.help} at ${violation.nodes.map((node) => JSON.stringify(node.target)).join(', ')}`);
  expect(serious, `accessibility of screen "${screen}"`).toEqual([]);
}
