/**
 * The write fence that makes moving a tenant between cells lose nothing. Every tenant write in a
 * cell first registers itself on the tenant's counters item (`writesInFlight + 1`, conditional on
 * the tenant being present and not frozen) and deregisters when done. A move freezes the tenant in
 * its source cell, waits until no write is in flight, and only then copies — so no write can land
 * in the source after the copy has read it. A frozen tenant's writes get `TENANT_MOVING` (503 with
 * Retry-After); once the source is purged they get `TENANT_MOVED`. Reads are never fenced.
 *
 * The fence lives in the data, not in a cache: it holds whichever cell a stale route or a cached
 * authorizer decision sends the request to.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from '../shared/dynamo.js';
import { TenantMoved, TenantMoving } from '../shared/errors.js';
import { tenantMetaKey } from '../keys/keys.js';
import { useTenant } from './tenant-context.js';
import { tenantTable } from './tenant-table.js';

export async function fencedWrite<T>(write: () => Promise<T>): Promise<T> {
  const { doc, tableName } = tenantTable();
  const key = tenantMetaKey(useTenant().tenantId);
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: 'ADD writesInFlight :one',
        ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(frozenBy)',
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
    throw Item ? new TenantMoving({ cause: error }) : new TenantMoved({ cause: error });
  }
  try {
    return await write();
  } finally {
    await doc
      .send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: 'ADD writesInFlight :minusOne',
          // Never recreate the item of a tenant that has been purged from this cell meanwhile.
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':minusOne': -1 },
        }),
      )
      .catch((error: unknown) => {
        // The write itself succeeded: failing the request now would make the client retry a write
        // that is already stored. A count left one too high only makes a move's drain wait its
        // bounded maximum.
        if (!isConditionalCheckFailed(error)) console.error(`write fence: tenant ${useTenant().tenantId}: could not deregister a finished write`, error);
      });
  }
}
