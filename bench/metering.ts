/**
 * `npm run bench:metering`: metering figures for this machine, printed, never asserted.
 *  1. Metering overhead per request: the same requests against two cells of one platform, one
 *     metering and one with METERING=off, interleaved; p50/p99 of each and the difference. Log
 *     delivery to the ledger is held until the timed requests are done (in AWS it runs elsewhere).
 *  2. Ledger ingestion rate: usage events counted per second (subscription-sized batches, a few
 *     deliveries at once), and the rate of a full redelivery (every event a duplicate).
 *  3. Reconciliation of 1,000 tenants × 24 hours: the time to compare every tenant-hour.
 * Progress goes to stderr; the figures to stdout.
 */
import { startLedgerFixture } from '@cellbook/local/aws/usage-ledger.fixture';
import { call, onboardTenant, signIn } from '@cellbook/local/client';
import { startPlatform } from '@cellbook/local/platform';
import { percentile } from './percentile.js';
import { ingestUsage, type LedgerTable } from '@cellbook/core/metering/ledger';
import { reconcileUsage } from '@cellbook/core/metering/reconciliation';
import type { UsageEvent } from '@cellbook/core/metering/usage-event';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const INGEST_EVENTS = Number(process.env.BENCH_INGEST_EVENTS ?? 20_000);
const RECONCILE_TENANTS = Number(process.env.BENCH_RECONCILE_TENANTS ?? 1_000);
const OVERHEAD_REQUESTS = Number(process.env.BENCH_OVERHEAD_REQUESTS ?? 1_000);
const BATCH = 500;
const DELIVERIES_AT_ONCE = 4;
const progress = (message: string) => console.error(`[bench:metering] ${message}`);

function requestEvent(tenant: number, key: string, at: Date): UsageEvent {
  return {
    tenantId: `t-${tenant}`,
    cellId: `cell-${(tenant % 3) + 1}`,
    tier: 'standard',
    eventId: key,
    idempotencyKey: `request:${key}`,
    occurredAt: at.toISOString(),
    actor: 'bench',
    data: { kind: 'request', route: 'GET /cases', status: 200, quantities: { apiRequests: 1, readUnits: 1, functionGbMs: 12 } },
  };
}

function gatewayEvent(tenant: number, key: string, at: Date): UsageEvent {
  return {
    ...requestEvent(tenant, key, at),
    idempotencyKey: `gateway:${key}`,
    data: { kind: 'gateway', route: 'GET /cases', status: 200, latencyMs: 5 + (Number.parseInt(key.slice(-2), 36) % 40), outcome: 'integration' },
  };
}

/** Delivers events as a log subscription would: batches, a few at once. Returns events per second. */
async function deliver(ledger: LedgerTable, events: readonly UsageEvent[], now: Date): Promise<{ perSecond: number; counted: number; duplicates: number }> {
  const batches: UsageEvent[][] = [];
  for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH));
  let counted = 0;
  let duplicates = 0;
  const started = performance.now();
  const workers = Array.from({ length: DELIVERIES_AT_ONCE }, async () => {
    for (let batch = batches.shift(); batch; batch = batches.shift()) {
      const result = await ingestUsage(ledger, batch, now);
      counted += result.counted;
      duplicates += result.duplicates;
    }
  });
  await Promise.all(workers);
  return { perSecond: events.length / ((performance.now() - started) / 1000), counted, duplicates };
}

async function ledgerFigures(): Promise<string[]> {
  const fixture = await startLedgerFixture();
  try {
    const now = new Date();
    const hourStart = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - 3_600_000);
    const lines: string[] = [];

    progress(`ingesting ${INGEST_EVENTS} events for 200 tenants`);
    const ingestLedger = { doc: fixture.doc, tableName: await fixture.table() };
    const events = Array.from({ length: INGEST_EVENTS }, (_, i) =>
      requestEvent(i % 200, `i${i.toString(36).padStart(6, '0')}`, new Date(hourStart.getTime() + (i % 3_600) * 1000)),
    );
    const first = await deliver(ingestLedger, events, now);
    const again = await deliver(ingestLedger, events, now);
    lines.push(
      `ledger ingestion (dynalite behind the local endpoint, batches of ${BATCH}, ${DELIVERIES_AT_ONCE} deliveries at once):`,
      `  first delivery   ${first.perSecond.toFixed(0).padStart(7)} events/s  (${first.counted} counted)`,
      `  redelivered      ${again.perSecond.toFixed(0).padStart(7)} events/s  (${again.duplicates} duplicates, ${again.counted} counted)`,
    );

    progress(`filling ${RECONCILE_TENANTS} tenants × 24 h for reconciliation`);
    const reconcileLedger = { doc: fixture.doc, tableName: await fixture.table() };
    const dayStart = new Date(Math.floor(now.getTime() / 86_400_000) * 86_400_000 - 86_400_000);
    const fill: UsageEvent[] = [];
    for (let hour = 0; hour < 24; hour += 1) {
      for (let tenant = 0; tenant < RECONCILE_TENANTS; tenant += 1) {
        const at = new Date(dayStart.getTime() + hour * 3_600_000 + (tenant % 3_600) * 1000);
        const key = `h${hour}t${tenant}`;
        fill.push(requestEvent(tenant, key, at), gatewayEvent(tenant, key, at));
      }
    }
    await deliver(reconcileLedger, fill, now);
    const range = { from: dayStart, to: new Date(dayStart.getTime() + 86_400_000) };
    const timings: number[] = [];
    let report = await reconcileUsage(reconcileLedger, range);
    for (let run = 0; run < 3; run += 1) {
      const started = performance.now();
      report = await reconcileUsage(reconcileLedger, range);
      timings.push(performance.now() - started);
    }
    lines.push(
      `reconciliation of ${report.tenants} tenants × 24 h (${report.tenantHours} tenant-hours, ${report.differences.length} differences):`,
      `  ${Math.min(...timings).toFixed(0)} ms best of 3 (${timings.map((t) => t.toFixed(0)).join(', ')} ms)`,
    );
    return lines;
  } finally {
    await fixture.close();
  }
}

/**
 * One platform, two pooled cells: cell-1 meters, cell-2 runs with METERING=off. A premium tenant in
 * each (no throttling in the way) sends the same requests in turn, so both see the same machine load.
 */
async function overheadFigures(): Promise<string[]> {
  progress('booting a platform with a metered and an unmetered cell');
  // Delivery waits until the timed requests are done: in AWS the ledger's ingestion runs elsewhere,
  // here it would share the machine's cores with the requests being timed.
  const platform = await startPlatform({ port: 0, warm: true, meteringOffCells: ['cell-2'], logDelivery: { lingerMs: 3_600_000, batchSize: 1_000_000 } });
  try {
    const operator = await signIn(platform.url, 'operator', 'operator');
    const tenants = new Map<string, { token: string; caseId: string }>();
    for (let n = 0; tenants.size < 2 && n < 6; n += 1) {
      const tenant = await onboardTenant(
        platform.url,
        operator,
        { name: `Meter ${n} ${Date.now()}`, tier: 'premium', adminEmail: `meter-${n}-${Date.now()}@example.com` },
        `Meter-${n}-Pass-1a`,
      );
      if (tenants.has(tenant.cellId)) continue;
      const created = await call<{ caseId: string }>(platform.url, 'POST', '/cases', { token: tenant.token, body: { title: 'bench', priority: 'low' } });
      tenants.set(tenant.cellId, { token: tenant.token, caseId: created.body.caseId });
    }
    const metered = tenants.get('cell-1');
    const unmetered = tenants.get('cell-2');
    if (!metered || !unmetered) throw new Error('could not place a tenant in each pooled cell');
    const timings = { on: [] as number[], off: [] as number[] };
    const request = async (tenant: { token: string; caseId: string }, i: number) => {
      const started = performance.now();
      const answer =
        i % 2 === 0
          ? await call(platform.url, 'GET', `/cases/${tenant.caseId}`, { token: tenant.token })
          : await call(platform.url, 'POST', `/cases/${tenant.caseId}/notes`, { token: tenant.token, body: { body: `note ${i}` } });
      if (answer.status >= 300) throw new Error(`bench request answered ${answer.status}`);
      return performance.now() - started;
    };
    progress(`warming up, then ${OVERHEAD_REQUESTS} requests per cell, interleaved`);
    for (let i = 0; i < 50; i += 1) await Promise.all([request(metered, i), request(unmetered, i)]);
    for (let i = 0; i < OVERHEAD_REQUESTS; i += 1) {
      // Alternate which goes first, so neither always meets the other's tail.
      if (i % 2 === 0) {
        timings.on.push(await request(metered, i));
        timings.off.push(await request(unmetered, i));
      } else {
        timings.off.push(await request(unmetered, i));
        timings.on.push(await request(metered, i));
      }
    }
    await platform.usageDelivered();
    const on = [...timings.on].sort((a, b) => a - b);
    const off = [...timings.off].sort((a, b) => a - b);
    const row = (name: string, sorted: number[]) =>
      `  ${name.padEnd(14)} p50 ${percentile(sorted, 50).toFixed(2).padStart(6)} ms   p99 ${percentile(sorted, 99).toFixed(2).padStart(6)} ms`;
    return [
      `metering overhead per request (GET a case / POST a note through the router, ${OVERHEAD_REQUESTS} each, same run):`,
      row('metering on', on),
      row('metering off', off),
      `  added          p50 ${(percentile(on, 50) - percentile(off, 50)).toFixed(2).padStart(6)} ms   p99 ${(percentile(on, 99) - percentile(off, 99)).toFixed(2).padStart(6)} ms`,
    ];
  } finally {
    await platform.stop();
  }
}

const figures = [...(await overheadFigures()), ...(await ledgerFigures())];
console.log(figures.join('\n'));
