import type { AssumeRoleCommand, AssumeRoleCommandInput, AssumeRoleCommandOutput, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { documentClient } from '../shared/dynamo.js';
import { TenantTableProvider, type TenantTableProviderOptions } from './tenant-table.js';

// Spy on documentClient (behaviour unchanged) to reach the raw credential provider the class hands the
// SDK. The SDK wraps it in its own memoizer, which coalesces concurrent calls on one client and keeps
// credentials until 5 minutes before expiry on the real clock — that would hide the provider's own
// caching, refresh and in-flight sharing, which is what these tests pin down.
vi.mock('../shared/dynamo.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../shared/dynamo.js')>();
  return { ...actual, documentClient: vi.fn(actual.documentClient) };
});

const ROLE_ARN = 'arn:aws:iam::000000000000:role/cell-1-tenant-access';
const SESSION_MS = 15 * 60_000;
const MARGIN_MS = 60_000;

/**
 * A hand-written STS: aws-sdk-client-mock is not installed, and the local STS stand-in (which
 * really issues tagged sessions) is covered by the integration tests. Each AssumeRole answers with
 * fresh keys that expire SESSION_MS after the test clock's current time; `hold()` keeps answers
 * pending so tests can make callers overlap.
 */
class FakeSts {
  readonly inputs: AssumeRoleCommandInput[] = [];
  failNext: Error | undefined;
  emptyNext = false;
  private held: Array<() => void> | undefined;

  constructor(private readonly clock: () => number) {}

  readonly send = async (command: AssumeRoleCommand): Promise<AssumeRoleCommandOutput> => {
    this.inputs.push(command.input);
    const n = this.inputs.length;
    if (this.held) await new Promise<void>((resolve) => this.held!.push(resolve));
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    if (this.emptyNext) {
      this.emptyNext = false;
      return { $metadata: {} };
    }
    return {
      $metadata: {},
      Credentials: {
        AccessKeyId: `ASIA${String(n).padStart(16, '0')}`,
        SecretAccessKey: `secret-${n}`,
        SessionToken: `token-${n}`,
        Expiration: new Date(this.clock() + SESSION_MS),
      },
    };
  };

  hold(): void {
    this.held = [];
  }

  release(): void {
    const waiting = this.held ?? [];
    this.held = undefined;
    for (const resolve of waiting) resolve();
  }

  get client(): STSClient {
    return this as unknown as STSClient;
  }
}

let now: number;
let sts: FakeSts;

beforeEach(() => {
  vi.mocked(documentClient).mockClear();
  now = Date.parse('2025-03-01T10:00:00.000Z');
  sts = new FakeSts(() => now);
});

afterEach(() => {
  sts.release();
});

function provider(options: Partial<TenantTableProviderOptions> = {}): TenantTableProvider {
  return new TenantTableProvider({
    roleArn: ROLE_ARN,
    tableName: 'cellbook-cell-1',
    sts: sts.client,
    refreshMarginMs: MARGIN_MS,
    now: () => now,
    ...options,
  });
}

type CredentialProvider = () => Promise<AwsCredentialIdentity>;

/** The credential provider the class gave the SDK when it created the client for `doc`. */
function rawCredentialsOf(doc: DynamoDBDocumentClient): CredentialProvider {
  const calls = vi.mocked(documentClient).mock.calls;
  const results = vi.mocked(documentClient).mock.results;
  const index = results.findIndex((result) => result.value === doc);
  const config = calls[index]?.[0];
  if (!config || typeof config.credentials !== 'function') throw new Error('no credential provider for this client');
  return config.credentials as CredentialProvider;
}

/** Resolves credentials the way the SDK does before signing a request. */
async function sdkCredentialsOf(doc: DynamoDBDocumentClient): Promise<AwsCredentialIdentity> {
  return (doc.config.credentials as unknown as CredentialProvider)();
}

describe('TenantTableProvider.forTenant', () => {
  it('hands out a client for the configured table', () => {
    const table = provider().forTenant('t-1');
    expect(table.tableName).toBe('cellbook-cell-1');
  });

  it('returns the same client for the same tenant and a different one per tenant', () => {
    const tables = provider();
    expect(tables.forTenant('t-1').doc).toBe(tables.forTenant('t-1').doc);
    expect(tables.forTenant('t-1').doc).not.toBe(tables.forTenant('t-2').doc);
  });

  it('assumes the tenant access role with session tag TenantId=<id> and a tenant-named session', async () => {
    const { doc } = provider({ sessionDurationSeconds: 1_800 }).forTenant('acme-x1');
    const credentials = await sdkCredentialsOf(doc);
    expect(sts.inputs).toEqual([
      {
        RoleArn: ROLE_ARN,
        RoleSessionName: 'tenant-acme-x1',
        DurationSeconds: 1_800,
        Tags: [{ Key: 'TenantId', Value: 'acme-x1' }],
      },
    ]);
    expect(credentials).toMatchObject({ accessKeyId: 'ASIA0000000000000001', secretAccessKey: 'secret-1', sessionToken: 'token-1' });
  });

  it('keeps a RoleSessionName within STS’s 64 characters for the longest tenant id', async () => {
    const longest = 'a'.repeat(40);
    await sdkCredentialsOf(provider().forTenant(longest).doc);
    expect(sts.inputs[0]!.RoleSessionName!.length).toBeLessThanOrEqual(64);
    expect(sts.inputs[0]!.RoleSessionName).toMatch(/^[\w+=,.@-]+$/);
    expect(sts.inputs[0]!.Tags).toEqual([{ Key: 'TenantId', Value: longest }]);
  });

  it('resolves no credentials until a request needs them', () => {
    provider().forTenant('t-1');
    expect(sts.inputs).toHaveLength(0);
  });
});

describe('TenantTableProvider credentials', () => {
  it('reuses one AssumeRole for a tenant until refreshMarginMs before expiry', async () => {
    const tables = provider();
    const credentials = rawCredentialsOf(tables.forTenant('t-1').doc);
    const first = await credentials();
    now += SESSION_MS - MARGIN_MS - 1;
    expect(await credentials()).toEqual(first);
    expect(tables.assumeRoleCalls).toBe(1);
    expect(sts.inputs).toHaveLength(1);
  });

  it('assumes the role again once within refreshMarginMs of expiry', async () => {
    const tables = provider();
    const credentials = rawCredentialsOf(tables.forTenant('t-1').doc);
    const first = await credentials();
    now += SESSION_MS - MARGIN_MS;
    const second = await credentials();
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    expect(tables.assumeRoleCalls).toBe(2);
    // …and the refreshed credentials are cached in turn.
    now += 1_000;
    expect(await credentials()).toEqual(second);
    expect(tables.assumeRoleCalls).toBe(2);
  });

  it('never hands out credentials that have already expired', async () => {
    const credentials = rawCredentialsOf(provider({ refreshMarginMs: 0 }).forTenant('t-1').doc);
    const first = await credentials();
    now += SESSION_MS + 1;
    const second = await credentials();
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    expect(second.expiration!.getTime()).toBeGreaterThan(now);
  });

  it('returns credentials with their expiration so the SDK knows when to ask again', async () => {
    const credentials = await sdkCredentialsOf(provider().forTenant('t-1').doc);
    expect(credentials.expiration).toEqual(new Date(now + SESSION_MS));
  });

  it('keeps separate credentials per tenant, each tagged with its own id', async () => {
    const tables = provider();
    const one = await sdkCredentialsOf(tables.forTenant('t-1').doc);
    const ten = await sdkCredentialsOf(tables.forTenant('t-10').doc);
    expect(one.accessKeyId).not.toBe(ten.accessKeyId);
    expect(sts.inputs.map((input) => input.Tags)).toEqual([[{ Key: 'TenantId', Value: 't-1' }], [{ Key: 'TenantId', Value: 't-10' }]]);
    // Cached per tenant: asking again costs no AssumeRole for either.
    expect(await sdkCredentialsOf(tables.forTenant('t-1').doc)).toEqual(one);
    expect(await sdkCredentialsOf(tables.forTenant('t-10').doc)).toEqual(ten);
    expect(tables.assumeRoleCalls).toBe(2);
  });

  it('shares one in-flight AssumeRole among concurrent callers for a tenant', async () => {
    const tables = provider();
    const credentials = rawCredentialsOf(tables.forTenant('t-1').doc);
    sts.hold();
    const pending = Promise.all([credentials(), credentials(), credentials(), credentials()]);
    await vi.waitFor(() => expect(sts.inputs.length).toBeGreaterThan(0));
    sts.release();
    const results = await pending;
    expect(sts.inputs).toHaveLength(1);
    expect(tables.assumeRoleCalls).toBe(1);
    expect(new Set(results.map((result) => result.accessKeyId)).size).toBe(1);
  });

  it('does not share an in-flight AssumeRole across tenants', async () => {
    const tables = provider();
    const one = rawCredentialsOf(tables.forTenant('t-1').doc);
    const two = rawCredentialsOf(tables.forTenant('t-2').doc);
    sts.hold();
    const pending = Promise.all([one(), two(), one(), two()]);
    await vi.waitFor(() => expect(sts.inputs.length).toBe(2));
    sts.release();
    const [a, b, c, d] = await pending;
    expect(a!.accessKeyId).toBe(c!.accessKeyId);
    expect(b!.accessKeyId).toBe(d!.accessKeyId);
    expect(a!.accessKeyId).not.toBe(b!.accessKeyId);
    expect(sts.inputs.map((input) => input.Tags?.[0]?.Value).sort()).toEqual(['t-1', 't-2']);
  });

  it('surfaces an AssumeRole failure to every waiting caller and tries again on the next request', async () => {
    const tables = provider();
    const credentials = rawCredentialsOf(tables.forTenant('t-1').doc);
    sts.failNext = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
    sts.hold();
    const failing = Promise.allSettled([credentials(), credentials()]);
    await vi.waitFor(() => expect(sts.inputs.length).toBe(1));
    sts.release();
    const settled = await failing;
    expect(settled.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(await credentials()).toMatchObject({ accessKeyId: 'ASIA0000000000000002' });
    expect(sts.inputs).toHaveLength(2);
  });

  it('refuses to proceed when STS answers without credentials', async () => {
    const credentials = rawCredentialsOf(provider().forTenant('t-1').doc);
    sts.emptyNext = true;
    await expect(credentials()).rejects.toThrow('STS AssumeRole returned no credentials');
  });
});

describe('TenantTableProvider cache bound', () => {
  it("refuses a bound below one tenant: the cache of tenants' clients is always bounded", () => {
    for (const maxTenants of [0, -1, 1.5]) expect(() => provider({ maxTenants }), String(maxTenants)).toThrow(/maxTenants must be a whole number of at least 1/);
  });

  it('evicts the least recently used tenant beyond maxTenants', async () => {
    const tables = provider({ maxTenants: 2 });
    const a = tables.forTenant('t-a').doc;
    const b = tables.forTenant('t-b').doc;
    await sdkCredentialsOf(a);
    await sdkCredentialsOf(b);
    tables.forTenant('t-a'); // t-a is now more recent than t-b
    tables.forTenant('t-c'); // over the bound: t-b goes
    expect(tables.forTenant('t-a').doc).toBe(a);
    expect(tables.forTenant('t-b').doc).not.toBe(b);
  });

  it("drops an evicted tenant's credentials, so its next client assumes the role again", async () => {
    const tables = provider({ maxTenants: 1 });
    await sdkCredentialsOf(tables.forTenant('t-a').doc);
    await sdkCredentialsOf(tables.forTenant('t-b').doc); // evicts t-a
    expect(tables.assumeRoleCalls).toBe(2);
    await sdkCredentialsOf(tables.forTenant('t-a').doc); // evicts t-b
    expect(tables.assumeRoleCalls).toBe(3);
    expect(sts.inputs.map((input) => input.Tags?.[0]?.Value)).toEqual(['t-a', 't-b', 't-a']);
  });

  it('keeps a recently used tenant cached while others churn through the bound', async () => {
    const tables = provider({ maxTenants: 3 });
    const hot = tables.forTenant('t-hot').doc;
    await sdkCredentialsOf(hot);
    for (const tenant of ['t-1', 't-2', 't-3', 't-4', 't-5']) {
      tables.forTenant(tenant);
      expect(tables.forTenant('t-hot').doc).toBe(hot);
    }
    await sdkCredentialsOf(tables.forTenant('t-hot').doc);
    expect(sts.inputs.filter((input) => input.Tags?.[0]?.Value === 't-hot')).toHaveLength(1);
  });

  it("releases an evicted tenant's HTTP connections", () => {
    const tables = provider({ maxTenants: 1 });
    const evicted = tables.forTenant('t-a').doc;
    const handler = evicted.config.requestHandler as unknown as { destroy: () => void };
    const destroy = vi.spyOn(handler, 'destroy');
    tables.forTenant('t-b');
    // DynamoDBDocumentClient.destroy() is a no-op in lib-dynamodb; only the wrapped DynamoDBClient's
    // destroy() closes the keep-alive sockets of the request handler.
    expect(destroy).toHaveBeenCalled();
  });
});

describe('TenantTableProvider.credentialsLasting (presigned URLs)', () => {
  it('reuses the cached session when it outlives the URL', async () => {
    const sessions = provider();
    sessions.forTenant('t-1');
    const first = await sessions.credentialsFor('t-1');
    now += 60_000;
    const lasting = await sessions.credentialsLasting('t-1', 300);
    expect(lasting.accessKeyId).toBe(first.accessKeyId);
    expect(sessions.assumeRoleCalls).toBe(1);
  });

  it('assumes a new session when the cached one would expire before the URL does, and caches it', async () => {
    const sessions = provider();
    sessions.forTenant('t-1');
    const first = await sessions.credentialsFor('t-1');
    // 10 minutes into a 15-minute session: 5 minutes left, not enough for a 300 s URL plus clock slack.
    now += 10 * 60_000;
    const lasting = await sessions.credentialsLasting('t-1', 300);
    expect(lasting.accessKeyId).not.toBe(first.accessKeyId);
    expect(lasting.expiration.getTime() - now).toBeGreaterThanOrEqual(300_000);
    expect(sts.inputs.map((input) => input.Tags)).toEqual([[{ Key: 'TenantId', Value: 't-1' }], [{ Key: 'TenantId', Value: 't-1' }]]);
    expect((await sessions.credentialsFor('t-1')).accessKeyId).toBe(lasting.accessKeyId);
  });

  it('refuses a URL lifetime longer than a tenant session lasts', async () => {
    const sessions = provider();
    sessions.forTenant('t-1');
    await expect(sessions.credentialsLasting('t-1', SESSION_MS / 1000)).rejects.toThrow(/cannot vouch/);
    await expect(sessions.credentialsLasting('t-1', 0)).rejects.toThrow(/cannot vouch/);
    expect(sts.inputs).toHaveLength(0);
  });
});
