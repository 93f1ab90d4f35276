/**
 * Usage the control plane measures itself (an export's bytes): counted straight into the ledger, once
 * per key, since no cell log carries it. The caller's action waits for it: usage that could not be
 * recorded is an error there, never a silent loss.
 */
import { randomUUID } from 'node:crypto';
import type { TierName } from '../tenancy/tiers.js';
import { ingestUsage, ledgerTable } from './ledger.js';
import type { Quantities, UsageEvent } from './usage-event.js';

export async function meterConsumption(
  tenant: { tenantId: string; cellId: string; tier: TierName },
  idempotencyKey: string,
  actor: string,
  quantities: Quantities,
  now: Date = new Date(),
): Promise<void> {
  const event: UsageEvent = {
    ...tenant,
    eventId: randomUUID(),
    idempotencyKey,
    occurredAt: now.toISOString(),
    actor,
    data: { kind: 'consumption', quantities },
  };
  const result = await ingestUsage(ledgerTable(), [event], now);
  if (result.refused.length > 0) throw new Error(`usage ${idempotencyKey} refused: ${result.refused[0]?.reason}`);
}
