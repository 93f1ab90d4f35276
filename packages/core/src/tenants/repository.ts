/**
 * The tenant registry's table and its one read of a tenant record. The registry is the control
 * plane's: it has no tenant fence, so only control-plane identities (and the cell authorizers,
 * read-only) reach it.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { tenantRecordKey, isTenantId } from '../keys/keys.js';
import { requireEnv } from '../shared/config.js';
import { systemDocumentClient } from '../shared/dynamo.js';
import type { TenantRecord } from './record.js';

export function tenantsTable(): string {
  return requireEnv('TENANTS_TABLE');
}

/**
 * A tenant's record, or undefined for an id that is not a tenant id or names no tenant. A workflow
 * that decides from what it reads (and writes under a condition) reads consistently; the record
 * carries the workflow's own log (`T`), which only that workflow writes.
 */
export async function readTenant<T extends TenantRecord = TenantRecord>(tenantId: string, options: { consistent?: boolean } = {}): Promise<T | undefined> {
  if (!isTenantId(tenantId)) return undefined;
  const { Item } = await systemDocumentClient().send(
    new GetCommand({ TableName: tenantsTable(), Key: tenantRecordKey(tenantId), ...(options.consistent ? { ConsistentRead: true } : {}) }),
  );
  return Item as T | undefined;
}
