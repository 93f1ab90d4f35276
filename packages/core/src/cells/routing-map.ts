/**
 * The routing map in AWS (DESIGN §1): a CloudFront KeyValueStore of tenant id → cell id, read by
 * the router's CloudFront Function and written only here, by the control plane. The store's ARN
 * comes from `ROUTING_MAP_ARN`; what it should say comes from the tenant registry (`TENANTS_TABLE`).
 *
 * Every write names the store version it expects (`IfMatch`, the ETag from
 * DescribeKeyValueStore); a concurrent writer makes that version stale, and the write is retried a
 * bounded number of times on a fresh ETag. Both verbs are idempotent, so a redelivered event is
 * harmless.
 */
// The KeyValueStore API is signed with SigV4a only (its endpoint is global). This registers the
// SDK's pure-JavaScript signer, which bundles into a Lambda as-is (the CRT signer is a native addon).
import '@aws-sdk/signature-v4a';
import { CloudFrontKeyValueStoreClient, DeleteKeyCommand, DescribeKeyValueStoreCommand, PutKeyCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import * as z from 'zod/mini';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { requireEnv } from '../shared/config.js';
import { systemDocumentClient } from '../shared/dynamo.js';
import { assertTenantId, isCellId, isTenantId, tenantRecordKey } from '../keys/keys.js';
import { retry } from '../shared/retry.js';
import { EVENT_CATALOG } from '../events/catalog.js';
import { tenantsTable } from '../tenants/repository.js';

let client: CloudFrontKeyValueStoreClient | undefined;
function kvs(): CloudFrontKeyValueStoreClient {
  client ??= new CloudFrontKeyValueStoreClient({});
  return client;
}

/** Attempts per write, each on a freshly read ETag, before the conflict is reported. */
export const MAX_WRITE_ATTEMPTS = 5;
const FIRST_RETRY_DELAY_MS = 20;

function isKvsError(error: unknown, name: string): error is Error {
  return error instanceof Error && error.name === name;
}

/**
 * Runs `write` with the store's current ETag. A ConflictException ("resource is not in expected
 * state") means another write moved the store on since the ETag was read: read it again and retry.
 */
async function withCurrentEtag(write: (kvsArn: string, etag: string) => Promise<void>): Promise<void> {
  const kvsArn = requireEnv('ROUTING_MAP_ARN');
  await retry(
    async () => {
      const { ETag } = await kvs().send(new DescribeKeyValueStoreCommand({ KvsARN: kvsArn }));
      if (!ETag) throw new Error('DescribeKeyValueStore returned no ETag for the routing map');
      await write(kvsArn, ETag);
    },
    { retryable: (error) => isKvsError(error, 'ConflictException'), maxAttempts: MAX_WRITE_ATTEMPTS, baseDelayMs: FIRST_RETRY_DELAY_MS },
  );
}

/** Routes `tenantId` to `cellId` from now on (a new tenant, or a move). Safe to repeat. */
export async function assignTenantCell(tenantId: string, cellId: string): Promise<void> {
  assertTenantId(tenantId);
  if (!isCellId(cellId)) throw new Error(`refusing to route tenant ${tenantId} to malformed cell id ${JSON.stringify(cellId)}`);
  await withCurrentEtag(async (kvsArn, etag) => {
    await kvs().send(new PutKeyCommand({ KvsARN: kvsArn, Key: tenantId, Value: cellId, IfMatch: etag }));
  });
}

/** Removes `tenantId` from the map (offboarding); a tenant the map does not hold is done. */
export async function removeTenant(tenantId: string): Promise<void> {
  assertTenantId(tenantId);
  await withCurrentEtag((kvsArn, etag) => deleteKey(kvsArn, tenantId, etag));
}

async function deleteKey(kvsArn: string, tenantId: string, etag: string): Promise<void> {
  try {
    await kvs().send(new DeleteKeyCommand({ KvsARN: kvsArn, Key: tenantId, IfMatch: etag }));
  } catch (error) {
    // The store itself was just described, so "not found" is about the key: already removed.
    if (!isKvsError(error, 'ResourceNotFoundException')) throw error;
  }
}

/**
 * The `detail` of a `TenantRoutingChanged` event (see routing.ts): whose route changed and where it
 * points now; `cellId: null` removes the tenant. Fields the writer does not need are ignored.
 */
export const RoutingChangeDetail = z
  .object({
    tenantId: z.string().check(z.refine(isTenantId, 'not a tenant id')),
    cellId: EVENT_CATALOG.TenantRoutingChanged.data.shape.cellId,
    data: EVENT_CATALOG.TenantRoutingChanged.data,
  })
  .check(z.refine((detail) => detail.cellId === detail.data.cellId, { message: 'cellId and data.cellId disagree', path: ['data', 'cellId'] }));
export type RoutingChangeDetail = z.infer<typeof RoutingChangeDetail>;

export interface RouteSync {
  tenantId: string;
  /** Where the map now sends the tenant; null: not at all. */
  cellId: string | null;
  /** The event named another cell than the registry does now: a later change overtook it. */
  stale: boolean;
}

/**
 * Makes the map say what the tenant registry says **now** — the tenant's cell, or no entry for a
 * tenant that is offboarded (or unknown) — whatever the event says. EventBridge neither orders nor
 * deduplicates deliveries, and a retried event may arrive after a later one: writing the event's
 * own cell would let an old onboarding event overwrite the route of a move that followed it. Read
 * from the registry, every delivery converges on the current route, in any order, any number of
 * times. The event tells whose route to look at, and is reported `stale` when it is out of date.
 */
export async function syncTenantRoute(change: RoutingChangeDetail): Promise<RouteSync> {
  // Read, write, read again: a change to the registry between the read and the write (a move
  // switching while a late event is being written) is caught by the second read and written too.
  for (let attempt = 1; ; attempt++) {
    const routed = await registeredCell(change.tenantId);
    if (routed === null) await removeTenant(change.tenantId);
    else await assignTenantCell(change.tenantId, routed);
    if ((await registeredCell(change.tenantId)) === routed) {
      return { tenantId: change.tenantId, cellId: routed, stale: routed !== change.cellId };
    }
    if (attempt >= MAX_WRITE_ATTEMPTS) throw new Error(`routing map: tenant ${change.tenantId} kept changing cells while its route was written`);
  }
}

/** Where the registry says the tenant's requests go now; null for an offboarded or unknown tenant. */
async function registeredCell(tenantId: string): Promise<string | null> {
  assertTenantId(tenantId);
  const { Item } = await systemDocumentClient().send(
    new GetCommand({
      TableName: tenantsTable(),
      Key: tenantRecordKey(tenantId),
      ConsistentRead: true,
      ProjectionExpression: '#status, cellId',
      ExpressionAttributeNames: { '#status': 'status' },
    }),
  );
  return Item && Item.status !== 'OFFBOARDED' && isCellId(Item.cellId) ? (Item.cellId as string) : null;
}
