/**
 * Per-tenant counters behind the entitlement limits, one item per tenant. Reservations are single
 * conditional updates (no transactions): reserve before creating, release if creation fails, so a
 * crash in between can only over-count — never let a tenant exceed its plan.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from '../shared/dynamo.js';
import { limitReached } from './entitlements.js';
import { tenantMetaKey } from '../keys/keys.js';
import { useTenant } from './tenant-context.js';
import { tenantTable } from './tenant-table.js';

export type CounterName = 'activeCases' | 'users';

const LABEL: Record<CounterName, string> = { activeCases: 'active cases', users: 'users' };

/** Counters of an amount rather than of things: bytes of evidence stored. */
export type AmountCounterName = 'evidenceBytes';

const AMOUNT_LABEL: Record<AmountCounterName, string> = { evidenceBytes: 'bytes of evidence' };

/**
 * Adds `amount` to an amount counter, unless the total would pass `limit` (`null`: no limit): one
 * conditional update, so two reservations that each fit alone cannot both pass together.
 */
export async function reserveAmount(counter: AmountCounterName, amount: number, limit: number | null): Promise<void> {
  if (!Number.isSafeInteger(amount) || amount < 0) throw new Error(`refusing to reserve ${amount} ${AMOUNT_LABEL[counter]}`);
  const { tenantId } = useTenant();
  if (limit !== null && amount > limit) throw limitReached(AMOUNT_LABEL[counter], limit);
  // DynamoDB conditions do no arithmetic: "total + amount <= limit" is "total <= limit - amount".
  const applied = await updateCounter(counter, 'ADD #n :amount SET tenantId = :tenantId', limit === null ? undefined : 'attribute_not_exists(#n) OR #n <= :room', {
    ':amount': amount,
    ':tenantId': tenantId,
    ...(limit === null ? {} : { ':room': limit - amount }),
  });
  if (!applied.ok) throw limitReached(AMOUNT_LABEL[counter], limit ?? 0, { cause: applied.error });
}

/** Gives `amount` back to an amount counter (never below zero: a refused update means nothing to give). */
export async function releaseAmount(counter: AmountCounterName, amount: number): Promise<void> {
  if (!Number.isSafeInteger(amount) || amount < 0) throw new Error(`refusing to release ${amount} ${AMOUNT_LABEL[counter]}`);
  if (amount === 0) return;
  await updateCounter(counter, 'ADD #n :minus', '#n >= :amount', { ':minus': -amount, ':amount': amount });
}

export async function reserve(counter: CounterName, limit: number | null): Promise<void> {
  const { tenantId } = useTenant();
  const applied = await updateCounter(counter, 'ADD #n :one SET tenantId = :tenantId', limit === null ? undefined : 'attribute_not_exists(#n) OR #n < :limit', {
    ':one': 1,
    ':tenantId': tenantId,
    ...(limit === null ? {} : { ':limit': limit }),
  });
  if (!applied.ok) throw limitReached(LABEL[counter], limit ?? 0, { cause: applied.error });
}

export async function release(counter: CounterName): Promise<void> {
  // Already at zero: nothing to release (a refused update). Anything else is a real failure.
  await updateCounter(counter, 'ADD #n :minusOne', '#n > :zero', { ':minusOne': -1, ':zero': 0 });
}

/** One update of a counter on the current tenant's counters item; a refused condition is reported, not thrown. */
async function updateCounter(
  counter: CounterName | AmountCounterName,
  update: string,
  condition: string | undefined,
  values: Record<string, unknown>,
): Promise<{ ok: true } | { ok: false; error: unknown }> {
  const { doc, tableName } = tenantTable();
  const { tenantId } = useTenant();
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: tenantMetaKey(tenantId),
        UpdateExpression: update,
        ...(condition === undefined ? {} : { ConditionExpression: condition }),
        ExpressionAttributeNames: { '#n': counter },
        ExpressionAttributeValues: values,
      }),
    );
    return { ok: true };
  } catch (error) {
    if (isConditionalCheckFailed(error)) return { ok: false, error };
    throw error;
  }
}

export interface Usage {
  activeCases: number;
  users: number;
  /** Bytes of completed evidence uploads (pending uploads count once completed). */
  evidenceBytes: number;
}

export async function usage(): Promise<Usage> {
  const { doc, tableName } = tenantTable();
  const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: tenantMetaKey(useTenant().tenantId) }));
  return {
    activeCases: typeof Item?.activeCases === 'number' ? Item.activeCases : 0,
    users: typeof Item?.users === 'number' ? Item.users : 0,
    evidenceBytes: typeof Item?.evidenceBytes === 'number' ? Item.evidenceBytes : 0,
  };
}
