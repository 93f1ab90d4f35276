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

/** Slack for clocks that disagree (this container's, STS's, S3's) when a session must outlast a URL. */
const CLOCK_SKEW_MS = 5_000;

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
    return this.inflight.get(tenantId) ?? this.startAssumeRole(tenantId);
  }

  /**
   * The tenant's session credentials, valid for at least `seconds` more: for a presigned URL, which
   * AWS refuses once the session it was signed with expires, so the URL must never outlive them.
   * When the cached session ends too soon, a new one is assumed (it lasts the full session duration
   * and replaces the cached one). Asking for longer than a session lasts is a programming error.
   */
  async credentialsLasting(tenantId: string, seconds: number): Promise<AwsCredentialIdentity & { expiration: Date }> {
    const neededMs = seconds * 1000 + CLOCK_SKEW_MS;
    if (!Number.isFinite(seconds) || seconds <= 0 || neededMs > this.durationSeconds * 1000 - CLOCK_SKEW_MS) {
      throw new Error(`a tenant session lasts ${this.durationSeconds}s: cannot vouch for ${seconds}s`);
    }
    const lasts = (credentials: AwsCredentialIdentity): credentials is AwsCredentialIdentity & { expiration: Date } =>
      credentials.expiration !== undefined && credentials.expiration.getTime() - this.now() >= neededMs;
    const current = await this.credentialsFor(tenantId);
    if (lasts(current)) return current;
    // A request already under way was sent just now: its session lasts the full duration.
    const renewed = await (this.inflight.get(tenantId) ?? this.startAssumeRole(tenantId));
    if (!lasts(renewed)) throw new Error('STS returned a tenant session shorter than the one requested');
    return renewed;
  }

  private startAssumeRole(tenantId: string): Promise<AwsCredentialIdentity> {
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

/**
 * The cell's tenant sessions (its function's environment names the role): one cache of tenant
 * credentials shared by the tenant's table client, its bucket client and the identity broker's.
 */
export function cellTenantSessions(): TenantTableProvider {
  return cellProvider();
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
  return { doc: tenantSessionsIn(cell.tenantRoleArn).forTenant(tenantId).doc, tableName: cell.tableName };
}

/**
 * The tenant sessions of a given cell's tenant access role (control-plane work on a tenant's data
 * there): shared by `tenantTableIn` and `tenantBucketIn`, so both reuse one session per tenant.
 */
export function tenantSessionsIn(tenantRoleArn: string): TenantTableProvider {
  let sessions = providersByRole.get(tenantRoleArn);
  if (!sessions) {
    // The table is named by each caller (`tenantTableIn`), not by the role's sessions.
    sessions = new TenantTableProvider({ roleArn: tenantRoleArn, tableName: '', maxTenants: 50 });
    providersByRole.set(tenantRoleArn, sessions);
  }
  return sessions;
}
