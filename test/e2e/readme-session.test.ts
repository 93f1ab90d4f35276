import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform } from '../support/platform.js';

/** The README's curl session is documentation users paste: it must work verbatim. */
const run = promisify(execFile);
let env: TestPlatform;

beforeAll(async () => {
  // Usage plans refill on a clock fifty times slower than the wall clock, so the burst of the
  // curl session meets its 429s however slowly a loaded machine sends its forty requests.
  const started = Date.now();
  env = await bootTestPlatform({ gatewayClock: () => started + (Date.now() - started) / 50 });
});
afterAll(() => env?.stop());

async function readmeSession(): Promise<string> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const section = /<!-- curl-session:start -->\s*```bash\n([\s\S]*?)```\s*<!-- curl-session:end -->/.exec(readme);
  if (!section) throw new Error('README.md has no curl-session block');
  return section[1]!;
}

describe('README curl session', () => {
  it('onboards, signs in, manages a case, shows a 404 across tenants and a 429, verbatim', async () => {
    const script = await readmeSession();
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
      env: { ...process.env, CELLBOOK: env.url },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/"status":"ACTIVE"/);
    expect(stdout).toMatch(/"temporaryPassword":"[^"]+"/);
    expect(stdout).toMatch(/"title":"Printer on fire","description":"","priority":"urgent","status":"OPEN"/);
    expect(stdout).toMatch(/"status":"IN_PROGRESS"/);
    expect(stdout).toMatch(/\{"error":\{"code":"CASE_NOT_FOUND",.*\} → HTTP 404/);
    const counts = Object.fromEntries([...stdout.matchAll(/^\s*(\d+) (200|429)$/gm)].map((m) => [m[2], Number(m[1])]));
    expect(counts['429']).toBeGreaterThan(0);
    expect((counts['200'] ?? 0) + counts['429']!).toBe(40);
  });
});

describe('README lifecycle walk-through', () => {
  it('onboards idempotently, changes tier, suspends and reactivates, moves, exports and offboards, verbatim', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = /<!-- lifecycle-session:start -->\s*```bash\n([\s\S]*?)```\s*<!-- lifecycle-session:end -->/.exec(readme);
    if (!section) throw new Error('README.md has no lifecycle-session block');
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', section[1]!], {
      env: { ...process.env, CELLBOOK: env.url },
      timeout: 60_000,
    });
    const tenantIds = [...stdout.matchAll(/"tenantId":"([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(tenantIds.slice(0, 2)).size).toBe(1);
    expect(stdout).toMatch(/tier now: standard/);
    expect(stdout).toMatch(/suspended → HTTP 403\nreactivated → HTTP 200/);
    expect(stdout).toMatch(/"state":"REQUESTED"/);
    expect(stdout).toMatch(/moved cell-(\d) → cell-(?!\1)\d, cases: Moves with us/);
    expect(stdout).toMatch(/cell\.updated by operator \(room for run \d+\): \{"capacity":200\} → \{"capacity":250\}/);
    expect(stdout).toMatch(/exported \d+ items/);
    expect(stdout).toMatch(/"status":"OFFBOARDED"/);
    expect(stdout).toMatch(/offboarded → HTTP 403/);
    expect(stdout).toMatch(
      /tenant\.onboarded → tenant\.tier-changed → tenant\.suspended → tenant\.reactivated → tenant\.move-requested → tenant\.moved → tenant\.suspended → tenant\.offboarded/,
    );
  });
});

describe('README release walk-through', () => {
  let releases: TestPlatform;
  beforeAll(async () => {
    releases = await bootTestPlatform({ releaseDriver: { pollMs: 100 }, releaseGate: { probeIntervalSeconds: 0.25 } });
  }, 120_000);
  afterAll(() => releases?.stop());

  it('plans, stops a faulty release in the canary, rolls a good one out wave by wave, verbatim', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = /<!-- release-session:start -->\s*```bash\n([\s\S]*?)```\s*<!-- release-session:end -->/.exec(readme);
    if (!section) throw new Error('README.md has no release-session block');
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', section[1]!], {
      env: { ...process.env, CELLBOOK: releases.url, CELLBOOK_RELEASES_DIR: releases.platform.releases.outRoot },
      timeout: 120_000,
    });
    expect(stdout).toMatch(/wave 0 \(canary\): cell-1\n\s+wave 1 \(pooled\): cell-2\nplan only: nothing deployed/);
    // Contained: the faulty release's story never mentions the second wave.
    const [plan, faulty, good] = stdout.split(/^built release /m).slice(1);
    expect(plan).toMatch(/plan only/);
    expect(good).toBeDefined();
    expect(faulty).toMatch(/release stopped \(exit 1\)/);
    expect(faulty).toMatch(/wave 0 \(canary\) cell-1: rolling-back[\s\S]*why: .*cell-1 (alarm|probe failed)/);
    expect(faulty).toMatch(/wave 0 \(canary\) cell-1: rolled-back/);
    expect(faulty).not.toMatch(/wave 1/);
    expect(faulty).toMatch(/: halted \(wave 0 \(canary\) failed its gate/);
    expect(good).toMatch(/wave 0 \(canary\) cell-1: promoted — cell-1: \d+ requests, 0\.0% 5xx, p99 \d+ ms, probes \d+ ok\/0 failed/);
    expect(good).toMatch(/wave 1 \(pooled\) cell-2: promoted/);
    const goodId = /release (r-[0-9a-f]{16}): finished/.exec(good!)?.[1];
    expect(goodId).toBeDefined();
    expect(good).toMatch(new RegExp(`cell-1 runs ${goodId} \\(before: r-[0-9a-f]{16}\\)`));
    expect(good).toMatch(new RegExp(`cell-2 runs ${goodId} \\(before: r-[0-9a-f]{16}\\)`));
  }, 180_000);
});

describe('README metering walk-through', () => {
  it("shows a tenant's usage against its plan, its cost and margin, the top tenants as CSV, a balanced reconciliation and its SLO neighbours, verbatim", async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = /<!-- usage-session:start -->\s*```bash\n([\s\S]*?)```\s*<!-- usage-session:end -->/.exec(readme);
    if (!section) throw new Error('README.md has no usage-session block');
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', section[1]!], {
      env: { ...process.env, CELLBOOK: env.url },
      timeout: 60_000,
    });
    // The four requests, and the /me/usage calls that waited for them (metered too).
    const requests = /"requests":\{"used":(\d+),"limit":100000,"remaining":(\d+)\}/.exec(stdout);
    expect(Number(requests?.[1])).toBeGreaterThanOrEqual(4);
    expect(Number(requests?.[1]) + Number(requests?.[2])).toBe(100_000);
    expect(stdout).toMatch(/"activeCases":\{"used":3,"limit":25000,"remaining":24997\}/);
    expect(stdout).toMatch(/"users":\{"used":1,"limit":50,"remaining":49\}/);
    expect(stdout).toMatch(/\{"apiRequests":\d+,"casesCreated":3,"notesCreated":1,"readUnits":\d+,"writeUnits":\d+,"functionGbMs":\d+,"exportBytes":0\}/);
    expect(stdout).toMatch(/"margin":\{"usd":"-?\d+\.\d\d","micros":-?\d+\}/);
    expect(stdout).toMatch(/^group_by,key,tenants,apiRequests\r?$/m);
    expect(stdout).toMatch(/^\[\]$/m);
    expect(stdout).toMatch(/"tenant":\{[^}]*"p99":/);
    expect(stdout).toMatch(/\{"error":\{"code":"VALIDATION_FAILED",.*\} → HTTP 422/);
  });
});

describe('README tier features walk-through', () => {
  it('uploads and downloads evidence, refuses a type off the list, counts a resolution, signs an agent out, refreshes, exports and shows the audit trail, verbatim', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = /<!-- features-session:start -->\s*```bash\n([\s\S]*?)```\s*<!-- features-session:end -->/.exec(readme);
    if (!section) throw new Error('README.md has no features-session block');
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', section[1]!], {
      env: { ...process.env, CELLBOOK: env.url },
      timeout: 90_000,
    });
    expect(stdout).toMatch(/^upload → HTTP 200$/m);
    expect(stdout).toMatch(/^AVAILABLE$/m);
    expect(stdout).toMatch(/^downloaded the same bytes$/m);
    expect(stdout).toMatch(/\{"error":\{"code":"EVIDENCE_TYPE_NOT_ALLOWED",.*\} → HTTP 422/);
    expect(stdout).toMatch(/^\{"low":0,"medium":0,"high":1,"urgent":0,"total":1\}$/m);
    expect(stdout).toMatch(/^\{"resolutions":1,"p50Seconds":\d+,"p90Seconds":\d+\}$/m);
    expect(stdout).toMatch(/^agent → HTTP 200$/m);
    expect(stdout).toMatch(/^sign-out → HTTP 204$/m);
    expect(stdout).toMatch(/^agent after sign-out → HTTP 401$/m);
    expect(stdout).toMatch(/^\{"cases":1,"notes":0,"evidence":1,"files":1,"fileBytes":33\}$/m);
    expect(stdout).toMatch(/^archive: PK, \d+ bytes$/m);
    expect(stdout).toMatch(/^admin-\d+@globex\.example user\.invite user succeeded 201$/m);
    expect(stdout).toMatch(/^admin-\d+@globex\.example user\.sign-out user succeeded 204$/m);
  }, 180_000);
});
