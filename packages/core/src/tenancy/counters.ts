import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from '../shared/dynamo.js';
import { limitReached } from './entitlements.js';
import { tenantMetaKey } from '../keys/keys.js';
import { useTenant } from './tenant-context.js';
import { tenantTable } from './tenant-table.js';

/**
 * Per-tenant counters behind the entitlement limits, one item per tenant. Reservations are single
 * conditional updates (no transactions): reserve before creating, release if creation fails, so a
 * crash in between can only over-count — never let a tenant exceed its plan.
 */
export type CounterName = 'activeCases' | 'users';

const LABEL: Record<CounterName, string> = { activeCases: 'active cases', users: 'users' };

export async function reserve(counter: CounterName, limit: number | null): Promise<void> {
  const { doc, tableName } = tenantTable();
  const { tenantId } = useTenant();
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: tenantMetaKey(tenantId),
        UpdateExpression: 'ADD #n :one SET tenantId = :tenantId',
        ...(limit === null ? {} : { ConditionExpression: 'attribute_not_exists(#n) OR #n < :limit' }),
        ExpressionAttributeNames: { '#n': counter },
        ExpressionAttributeValues: { ':one': 1, ':tenantId': tenantId, ...(limit === null ? {} : { ':limit': limit }) },
      }),
    );
  } catch (error) {
    if (isConditionalCheckFailed(error)) throw limitReached(LABEL[counter], limit ?? 0, { cause: error });
    throw error;
  }
}

export async function release(counter: CounterName): Promise<void> {
  const { doc, tableName } = tenantTable();
  const { tenantId } = useTenant();
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: tenantMetaKey(tenantId),
        UpdateExpression: 'ADD #n :minusOne',
        ConditionExpression: '#n > :zero',
        ExpressionAttributeNames: { '#n': counter },
        ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
      }),
    );
  } catch (error) {
    // Already at zero: nothing to release. Anything else is a real failure.
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

export interface Usage {
  activeCases: number;
  users: number;
}

export async function usage(): Promise<Usage> {
  const { doc, tableName } = tenantTable();
  const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: tenantMetaKey(useTenant().tenantId) }));
  return {
    activeCases: typeof Item?.activeCases === 'number' ? Item.activeCases : 0,
    users: typeof Item?.users === 'number' ? Item.users : 0,
  };
}
