import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LRU } from 'tiny-lru';
import { meterConsumedCapacity } from '../metering/consumed-capacity.js';
import { requireEnv } from '../shared/config.js';
import { documentClient, releaseDocumentClient } from '../shared/dynamo.js';
import { TENANT_TAG_KEY } from '../access/tenant-access-policy.js';
import { useTenant } from './tenant-context.js';

/** A DynamoDB client whose credentials can only reach one tenant's items, and the table to use. */
export interface TenantTable {
  doc: DynamoDBDocumentClient;
  tableName: string;
}

export interface TenantTableProviderOptions {
  roleArn: string;
  tableName: string;
  sts?: STSClient;
  /** Credentials are refreshed this long before they expire. */
  refreshMarginMs?: number;
  sessionDurationSeconds?: number;
  /** How many tenants' clients one container keeps. */
  maxTenants?: number;
  now?: () => number;
}

interface CachedCredentials {
  credentials: AwsCredentialIdentity & { expiration: Date };
}

/**
 * Vends tenant-scoped clients: STS AssumeRole on the tenant access role with session tag
 * `TenantId=<id>`. Credentials are cached per tenant until shortly before expiry, concurrent
 * requests for one tenant share a single AssumeRole call, and the cache is bounded (`tiny-lru`).
 */
export class TenantTableProvider {
  private readonly sts: STSClient;
  /** Each tenant's client, least recently used evicted first (its connections and credentials go with it). */
  private readonly clients: LRU<DynamoDBDocumentClient>;
  private readonly credentials = new Map<string, CachedCredentials>();
  private readonly inflight = new Map<string, Promise<AwsCredentialIdentity>>();
  private readonly refreshMarginMs: number;
  private readonly durationSeconds: number;
  private readonly now: () => number;
  /** AssumeRole calls made; exposed so tests and benchmarks can see the cache working. */
  assumeRoleCalls = 0;

  constructor(private readonly options: TenantTableProviderOptions) {
    this.sts = options.sts ?? new STSClient({});
    this.refreshMarginMs = options.refreshMarginMs ?? 60_000;
    this.durationSeconds = options.sessionDurationSeconds ?? 900;
    this.now = options.now ?? Date.now;
    const maxTenants = options.maxTenants ?? 500;
    // tiny-lru reads 0 as "no bound": a cache of tenants' clients is always bounded.
    if (!Number.isInteger(maxTenants) || maxTenants < 1) throw new Error(`maxTenants must be a whole number of at least 1, not ${maxTenants}`);
    this.clients = new LRU<DynamoDBDocumentClient>(maxTenants).onEvict(({ key, value }) => {
      releaseDocumentClient(value);
      this.credentials.delete(key as string);
    });
  }

  forTenant(tenantId: string): TenantTable {
    // `get` marks the tenant most recently used; a new client may evict the least recent one.
    let doc = this.clients.get(tenantId);
    if (!doc) {
      // Every call a metered request makes through it reports the capacity it consumed (metering/consumed-capacity.ts).
      doc = meterConsumedCapacity(documentClient({ credentials: () => this.credentialsFor(tenantId) }));
      this.clients.set(tenantId, doc);
    }
    return { doc, tableName: this.options.tableName };
  }

  /** The tenant's session credentials (cached like the clients'): for calls signed as the tenant. */
  async credentialsFor(tenantId: string): Promise<AwsCredentialIdentity> {
    const cached = this.credentials.get(tenantId);
    if (cached && cached.credentials.expiration.getTime() - this.refreshMarginMs > this.now()) {
      return cached.credentials;
    }
    const pending = this.inflight.get(tenantId);
    if (pending) return pending;
    const request = this.assumeRole(tenantId).finally(() => this.inflight.delete(tenantId));
    this.inflight.set(tenantId, request);
    return request;
  }

  private async assumeRole(tenantId: string): Promise<AwsCredentialIdentity> {
    this.assumeRoleCalls += 1;
    const { Credentials } = await this.sts.send(
      new AssumeRoleCommand({
        RoleArn: this.options.roleArn,
        RoleSessionName: `tenant-${tenantId}`.slice(0, 64),
        DurationSeconds: this.durationSeconds,
        Tags: [{ Key: TENANT_TAG_KEY, Value: tenantId }],
      }),
    );
    if (!Credentials?.AccessKeyId || !Credentials.SecretAccessKey || !Credentials.Expiration) {
      throw new Error('STS AssumeRole returned no credentials');
    }
    const credentials = {
      accessKeyId: Credentials.AccessKeyId,
      secretAccessKey: Credentials.SecretAccessKey,
      ...(Credentials.SessionToken ? { sessionToken: Credentials.SessionToken } : {}),
      expiration: Credentials.Expiration,
    };
    if (this.clients.has(tenantId)) this.credentials.set(tenantId, { credentials });
    return credentials;
  }
}

let provider: TenantTableProvider | undefined;

function cellProvider(): TenantTableProvider {
  provider ??= new TenantTableProvider({ roleArn: requireEnv('TENANT_ROLE_ARN'), tableName: requireEnv('TABLE_NAME') });
  return provider;
}

/** The current tenant's scoped table client (the function's environment names role and table). */
export function tenantTable(): TenantTable {
  return cellProvider().forTenant(useTenant().tenantId);
}

/**
 * The current tenant's session credentials — the tenant access role tagged with the tenant — for
 * calls the cell makes as the tenant, such as the control plane's identity broker: IAM lets that
 * session reach only the broker's paths of its own tenant.
 */
export function tenantCredentials(): () => Promise<AwsCredentialIdentity> {
  const tenants = cellProvider();
  const { tenantId } = useTenant();
  tenants.forTenant(tenantId);
  return () => tenants.credentialsFor(tenantId);
}

const providersByRole = new Map<string, TenantTableProvider>();

/**
 * A tenant-scoped client for one tenant's items in a given cell, for control-plane work on a
 * tenant's data (moving it, exporting it, purging it). It assumes that cell's tenant access role
 * with the tenant's tag, so the data layer itself keeps the work inside the one tenant — the same
 * fence the data plane runs behind.
 */
export function tenantTableIn(cell: { tenantRoleArn: string; tableName: string }, tenantId: string): TenantTable {
  let cellProvider = providersByRole.get(cell.tenantRoleArn);
  if (!cellProvider) {
    cellProvider = new TenantTableProvider({ roleArn: cell.tenantRoleArn, tableName: cell.tableName, maxTenants: 50 });
    providersByRole.set(cell.tenantRoleArn, cellProvider);
  }
  return cellProvider.forTenant(tenantId);
}
