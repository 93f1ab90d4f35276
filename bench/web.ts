/**
 * `npm run bench:web`: what the web app costs a browser (issue 11's closing figures).
 *
 * 1. **Bundle.** Every file `npm run build:web` writes, raw, gzip and brotli; then what each page
 *    needs: the sign-in page (index.html, entry chunk, stylesheet), and what each face adds when its
 *    user signs in (the product's and the console's lazy chunks, with the chunks they import).
 * 2. **Time to first render**, in Debian's Chromium driven by playwright-core against a local
 *    platform (the router serves the app, as `npm start` does): the sign-in page (navigation start →
 *    the sign-in form on screen, and the browser's own first contentful paint), then sign-in → the
 *    cases list on screen. Each **cold** (a new browser profile: nothing cached) beside **warm**
 *    (the same profile again), on loopback and under an emulated mobile network (DevTools network
 *    conditions: 150 ms RTT, 1.6 Mbit/s down — Lighthouse's "slow 4G"), interleaved in one run.
 *
 *   BENCH_WEB_RUNS=9 npm run bench:web
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { onboardTenant, signIn } from '@cellbook/local/client';
import { startPlatform } from '@cellbook/local/platform';
import { chromium, type BrowserContext } from 'playwright-core';
import { percentile } from './percentile.js';

const RUNS = Number(process.env.BENCH_WEB_RUNS ?? 7);
const DIST = resolve('packages/web/dist');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// ── 1. Bundle ──────────────────────────────────────────────────────────────────────────────────
interface Sized {
  file: string;
  raw: number;
  gzip: number;
  brotli: number;
}

function sizeOf(file: string): Sized {
  const bytes = readFileSync(join(DIST, file));
  return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, brotli: brotliCompressSync(bytes).length };
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? listFiles(join(dir, name), `${prefix}${name}/`) : [`${prefix}${name}`]));
}

const files = listFiles(DIST)
  .filter((file) => !file.endsWith('.map'))
  .map(sizeOf);
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const indexHtml = readFileSync(join(DIST, 'index.html'), 'utf8');
const entryFiles = ['index.html', ...[...indexHtml.matchAll(/(?:src|href)="\/app\/([^"]+)"/g)].map((match) => match[1]!)];

/** A chunk and every chunk it imports statically (Vite writes `import … from "./x.js"`). */
function closure(start: string, seen = new Set<string>()): Set<string> {
  if (seen.has(start)) return seen;
  seen.add(start);
  const source = readFileSync(join(DIST, start), 'utf8');
  for (const match of source.matchAll(/from\s*"\.\/([^"]+\.js)"|import\s*"\.\/([^"]+\.js)"/g)) closure(`assets/${match[1] ?? match[2]}`, seen);
  return seen;
}

function total(names: Iterable<string>): Sized {
  const chosen = files.filter((file) => [...names].includes(file.file));
  return {
    file: '',
    raw: chosen.reduce((sum, file) => sum + file.raw, 0),
    gzip: chosen.reduce((sum, file) => sum + file.gzip, 0),
    brotli: chosen.reduce((sum, file) => sum + file.brotli, 0),
  };
}

const entry = new Set(entryFiles.flatMap((file) => (file.endsWith('.js') ? [...closure(file)] : [file])));
const faceChunk = (name: string) => files.find((file) => new RegExp(`^assets/${name}-[^/]+\\.js$`).test(file.file))?.file;
const faces = Object.fromEntries(
  (['ProductApp', 'ConsoleApp'] as const).map((name) => {
    const chunk = faceChunk(name);
    // The face's own chunks, and the stylesheets Vite split off for them (loaded with the chunk).
    const styles = files.filter((file) => new RegExp(`^assets/${name}-[^/]+\\.css$`).test(file.file)).map((file) => file.file);
    const added = chunk ? [...closure(chunk), ...styles].filter((file) => !entry.has(file)) : [];
    return [name, total(added)];
  }),
);

console.log('\nWeb app bundle (packages/web/dist, source maps excluded)\n');
console.log(`  ${'file'.padEnd(42)} ${'raw'.padStart(11)} ${'gzip'.padStart(11)} ${'brotli'.padStart(11)}`);
for (const file of files.sort((a, b) => b.raw - a.raw))
  console.log(`  ${file.file.padEnd(42)} ${kb(file.raw).padStart(11)} ${kb(file.gzip).padStart(11)} ${kb(file.brotli).padStart(11)}`);
const all = total(files.map((file) => file.file));
console.log(`  ${'all files'.padEnd(42)} ${kb(all.raw).padStart(11)} ${kb(all.gzip).padStart(11)} ${kb(all.brotli).padStart(11)}`);
console.log('\n  what a page loads');
const signInPage = total(entry);
for (const [label, sized] of [
  ['sign-in page (html + entry + css)', signInPage],
  ['+ the product face (tenant users)', faces.ProductApp!],
  ['+ the operator console', faces.ConsoleApp!],
] as const) {
  console.log(`  ${label.padEnd(42)} ${kb(sized.raw).padStart(11)} ${kb(sized.gzip).padStart(11)} ${kb(sized.brotli).padStart(11)}`);
}

// ── 2. Time to first render ───────────────────────────────────────────────────────────────────
const platform = await startPlatform({ port: 0, warm: true });
const operator = await signIn(platform.url, 'operator', 'operator');
const tenant = await onboardTenant(platform.url, operator, { name: 'Bench Web', tier: 'standard', adminEmail: 'bench-web@example.com' }, 'Bench-web-Pass1');
const browser = await chromium.launch({
  executablePath: CHROMIUM,
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
  ],
});

type Network = 'loopback' | 'slow 4G';
interface Sample {
  signInPageMs: number;
  firstContentfulPaintMs: number;
  casesListMs: number;
}

async function throttle(context: BrowserContext, network: Network, page: import('playwright-core').Page): Promise<void> {
  if (network === 'loopback') return;
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 150, downloadThroughput: (1.6 * 1024 * 1024) / 8, uploadThroughput: (750 * 1024) / 8 });
}

/** One visit in `context`: the sign-in page, then signing in to the cases list. */
async function visit(context: BrowserContext, network: Network): Promise<Sample> {
  const page = await context.newPage();
  await throttle(context, network, page);
  const started = Date.now();
  await page.goto(`${platform.url}/app/`, { waitUntil: 'commit' });
  await page.getByRole('heading', { name: 'Sign in to Cellbook' }).waitFor();
  const signInPageMs = Date.now() - started;
  // The paint entry may be queued behind the frame that showed the form: wait for it (buffered).
  const firstContentfulPaintMs = await page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const observer = new PerformanceObserver((list) => {
          const entry = list.getEntriesByName('first-contentful-paint')[0];
          if (entry) {
            observer.disconnect();
            resolve(entry.startTime);
          }
        });
        observer.observe({ type: 'paint' as 'mark', buffered: true }); // Node's typings know no 'paint'; the browser does
        setTimeout(() => resolve(Number.NaN), 5_000);
      }),
  );
  await page.getByLabel('Username or e-mail').fill(tenant.username);
  await page.getByLabel('Password', { exact: true }).fill(tenant.password);
  const submitted = Date.now();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Cases', level: 1 }).waitFor();
  await page
    .getByRole('table')
    .or(page.getByText(/no cases/i))
    .first()
    .waitFor();
  const casesListMs = Date.now() - submitted;
  // Signing out leaves the profile's HTTP cache for the warm visit.
  await page.evaluate(() => (globalThis as unknown as { sessionStorage: { clear(): void } }).sessionStorage.clear());
  await page.close();
  return { signInPageMs, firstContentfulPaintMs, casesListMs };
}

const samples = new Map<string, Sample[]>();
for (let run = 0; run < RUNS; run += 1) {
  for (const network of ['loopback', 'slow 4G'] as const) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const cold = await visit(context, network);
    const warm = await visit(context, network);
    await context.close();
    for (const [cache, sample] of [
      ['cold', cold],
      ['warm', warm],
    ] as const) {
      const key = `${network}, ${cache}`;
      samples.set(key, [...(samples.get(key) ?? []), sample]);
    }
  }
}

const stat = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `${percentile(sorted, 50).toFixed(0).padStart(6)} ${percentile(sorted, 90).toFixed(0).padStart(6)}`;
};
console.log(`\nTime to first render, Chromium ${browser.version()}, ${RUNS} runs each, interleaved (ms: p50 p90)\n`);
console.log(`  ${''.padEnd(20)} ${'sign-in page on screen'.padStart(24)} ${'first contentful paint'.padStart(24)} ${'sign-in → cases list'.padStart(24)}`);
for (const [key, list] of samples) {
  console.log(
    `  ${key.padEnd(20)} ${stat(list.map((s) => s.signInPageMs)).padStart(24)} ${stat(list.map((s) => s.firstContentfulPaintMs)).padStart(24)} ${stat(list.map((s) => s.casesListMs)).padStart(24)}`,
  );
}
console.log('');
await browser.close();
await platform.stop();
