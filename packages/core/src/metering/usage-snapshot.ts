/**
 * The hourly snapshot of every active tenant's gauges (DESIGN §10): its active cases and users (its
 * counters item) and the bytes its items take in its cell (every item it owns, sized by DynamoDB's
 * rules), as one `snapshot` usage event per tenant and hour — idempotency key
 * `snapshot:<tenantId>:<hour>`, so a retried run counts once. The tenant's cell items are read
 * through that cell's tenant access role tagged with the tenant, as the export reads them: the data
 * layer itself keeps each walk inside one tenant.
 */
import * as Cell from '../cells/cell.js';
import { tenantMetaKey } from '../keys/keys.js';
import { tenantTableIn } from '../tenancy/tenant-table.js';
import { iterateTenantItems } from '../tenant-data/walk.js';
import * as Tenant from '../tenants/tenant.js';
import type { TenantSummary } from '../tenants/record.js';
import { storedItemBytes } from './item-size.js';
import { type IngestResult, type LedgerTable, ingestUsage, ledgerTable } from './ledger.js';
import type { UsageEvent } from './usage-event.js';

export const SNAPSHOT_ACTOR = 'system:usage-snapshot';

/** `2026-12-03T14`: the hour a snapshot stands for. */
export function snapshotHour(now: Date): string {
  return now.toISOString().slice(0, 13);
}

export function snapshotKey(tenantId: string, now: Date): string {
  return `snapshot:${tenantId}:${snapshotHour(now)}`;
}

export interface TenantGauges {
  activeCases: number;
  users: number;
  storageBytes: number;
  items: number;
}

/** A tenant's gauges, read from its cell through the tenant access role. */
export async function measureTenant(cell: { tenantRoleArn: string; tableName: string }, tenantId: string): Promise<TenantGauges> {
  const table = tenantTableIn(cell, tenantId);
  const meta = tenantMetaKey(tenantId);
  const gauges: TenantGauges = { activeCases: 0, users: 0, storageBytes: 0, items: 0 };
  for await (const { item } of iterateTenantItems({ cell: table }, tenantId)) {
    gauges.items += 1;
    gauges.storageBytes += storedItemBytes(item);
    if (item.PK === meta.PK && item.SK === meta.SK) {
      gauges.activeCases = typeof item.activeCases === 'number' ? item.activeCases : 0;
      gauges.users = typeof item.users === 'number' ? item.users : 0;
    }
  }
  return gauges;
}

export function snapshotEvent(
  tenant: Pick<TenantSummary, 'tenantId' | 'tier'> & { cellId: string },
  gauges: TenantGauges,
  now: Date,
): UsageEvent<{ kind: 'snapshot'; gauges: { activeCases: number; users: number; storageBytes: number } }> {
  const key = snapshotKey(tenant.tenantId, now);
  return {
    tenantId: tenant.tenantId,
    cellId: tenant.cellId,
    tier: tenant.tier,
    eventId: key,
    idempotencyKey: key,
    occurredAt: now.toISOString(),
    actor: SNAPSHOT_ACTOR,
    data: { kind: 'snapshot', gauges: { activeCases: gauges.activeCases, users: gauges.users, storageBytes: gauges.storageBytes } },
  };
}

export interface SnapshotResult extends IngestResult {
  tenants: number;
  /** Tenants that could not be measured this hour (the next run measures them again). */
  failed: string[];
}

const BATCH = 25;
const CONCURRENCY = 4;

/**
 * Measures every ACTIVE tenant (probe tenants left out) and ingests one snapshot each. A tenant that
 * cannot be measured does not stop the others; the run then fails, so the schedule shows it.
 */
export async function snapshotActiveTenants(options: { now?: Date; ledger?: LedgerTable } = {}): Promise<SnapshotResult> {
  const now = options.now ?? new Date();
  const ledger = options.ledger ?? ledgerTable();
  const cells = new Map<string, Promise<Cell.CellRecord | undefined>>();
  const cellOf = (cellId: string) => {
    const known = cells.get(cellId);
    if (known) return known;
    const cell = Cell.get(cellId);
    cells.set(cellId, cell);
    return cell;
  };
  const result: SnapshotResult = { tenants: 0, counted: 0, duplicates: 0, refused: [], failed: [] };
  const pending: UsageEvent[] = [];
  const errors: unknown[] = [];
  const flush = async () => {
    const batch = pending.splice(0, pending.length);
    if (batch.length === 0) return;
    const ingested = await ingestUsage(ledger, batch, now);
    result.counted += ingested.counted;
    result.duplicates += ingested.duplicates;
    result.refused.push(...ingested.refused);
  };
  let cursor: string | undefined;
  do {
    const page = await Tenant.list({ status: 'ACTIVE', limit: 100, ...(cursor ? { cursor } : {}) });
    const tenants = page.items.filter((tenant): tenant is TenantSummary & { cellId: string } => tenant.cellId !== null && tenant.synthetic !== true);
    for (let i = 0; i < tenants.length; i += CONCURRENCY) {
      const measured = await Promise.all(
        tenants.slice(i, i + CONCURRENCY).map(async (tenant) => {
          try {
            const cell = await cellOf(tenant.cellId);
            if (!cell) throw new Error(`cell ${tenant.cellId} is not deployed`);
            return snapshotEvent(tenant, await measureTenant(cell, tenant.tenantId), now);
          } catch (error) {
            result.failed.push(tenant.tenantId);
            errors.push(error);
            return undefined;
          }
        }),
      );
      for (const event of measured) if (event) pending.push(event);
      result.tenants += measured.filter(Boolean).length;
      if (pending.length >= BATCH) await flush();
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  await flush();
  if (result.failed.length > 0) {
    throw new Error(`usage snapshot: ${result.failed.length} tenant(s) not measured (${result.failed.join(', ')}); ${result.counted} snapshot(s) counted`, {
      cause: new AggregateError(errors),
    });
  }
  return result;
}
