// Mocked SDK client, because there is no local stand-in: the KeyValueStore client derives its host from the ARN's account id (<account>.cloudfront-kvs.global.api.aws) and signs with SigV4a, so a local endpoint cannot be reached.
import {
  CloudFrontKeyValueStoreClient,
  ConflictException,
  DeleteKeyCommand,
  DescribeKeyValueStoreCommand,
  PutKeyCommand,
  ResourceNotFoundException,
  ValidationException,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { MAX_WRITE_ATTEMPTS, RoutingChangeDetail, assignTenantCell, removeTenant, syncTenantRoute } from './routing-map.js';

const ARN = 'arn:aws:cloudfront::123456789012:key-value-store/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const meta = { $metadata: {} };
const stale = () => new ConflictException({ message: 'Resource is not in expected state.', ...meta });
const saved = process.env.ROUTING_MAP_ARN;

/** Every command sent, in order, as [command name, input]. */
function sentTo(kvs: AwsClientStub<CloudFrontKeyValueStoreClient>): [string, unknown][] {
  return kvs.calls().map((call) => {
    const command = call.args[0] as unknown as { constructor: { name: string }; input: unknown };
    return [command.constructor.name, command.input];
  });
}

describe('the routing map writer', () => {
  // Created here, not at import, so the signing test below runs against the real client.
  let kvs: AwsClientStub<CloudFrontKeyValueStoreClient>;
  const sent = () => sentTo(kvs);
  /** DescribeKeyValueStore answers a new ETag on every call, like a store other writers are moving on. */
  const versions = () => {
    let version = 0;
    kvs.on(DescribeKeyValueStoreCommand).callsFake(() => ({ KvsARN: ARN, ETag: `etag-${++version}`, ItemCount: version }));
  };

  beforeAll(() => {
    kvs = mockClient(CloudFrontKeyValueStoreClient);
  });
  beforeEach(() => {
    kvs.reset();
    process.env.ROUTING_MAP_ARN = ARN;
  });
  afterAll(() => {
    kvs.restore();
    if (saved === undefined) delete process.env.ROUTING_MAP_ARN;
    else process.env.ROUTING_MAP_ARN = saved;
  });

  describe('RoutingMap.assignTenantCell', () => {
    it('puts tenant → cell into the store named by ROUTING_MAP_ARN, at the version it just read', async () => {
      versions();
      kvs.on(PutKeyCommand).resolves({ ETag: 'etag-after', ItemCount: 1, TotalSizeInBytes: 10 });
      await assignTenantCell('acme-7', 'cell-2');
      expect(sent()).toEqual([
        ['DescribeKeyValueStoreCommand', { KvsARN: ARN }],
        ['PutKeyCommand', { KvsARN: ARN, Key: 'acme-7', Value: 'cell-2', IfMatch: 'etag-1' }],
      ]);
    });

    it('retries on a fresh ETag when another writer made the one it read stale', async () => {
      versions();
      kvs.on(PutKeyCommand).rejectsOnce(stale()).rejectsOnce(stale()).resolves({ ETag: 'etag-after' });
      await assignTenantCell('acme-7', 'cell-2');
      expect(kvs.commandCalls(PutKeyCommand).map((call) => call.args[0].input.IfMatch)).toEqual(['etag-1', 'etag-2', 'etag-3']);
    });

    it(`gives up after ${MAX_WRITE_ATTEMPTS} stale attempts and reports the conflict, so the event is retried`, async () => {
      versions();
      const conflict = stale();
      kvs.on(PutKeyCommand).rejects(conflict);
      await expect(assignTenantCell('acme-7', 'cell-2')).rejects.toBe(conflict);
      expect(kvs.commandCalls(PutKeyCommand)).toHaveLength(MAX_WRITE_ATTEMPTS);
      expect(kvs.commandCalls(DescribeKeyValueStoreCommand)).toHaveLength(MAX_WRITE_ATTEMPTS);
    });

    it('does not retry failures other than a stale ETag', async () => {
      versions();
      const invalid = new ValidationException({ message: 'Validation failed.', ...meta });
      kvs.on(PutKeyCommand).rejects(invalid);
      await expect(assignTenantCell('acme-7', 'cell-2')).rejects.toBe(invalid);
      expect(kvs.commandCalls(PutKeyCommand)).toHaveLength(1);
    });

    it('writes nothing for a malformed tenant or cell id', async () => {
      versions();
      await expect(assignTenantCell('Acme#7', 'cell-2')).rejects.toThrow(/malformed tenant id/);
      await expect(assignTenantCell('acme-7', '')).rejects.toThrow(/malformed cell id/);
      expect(sent()).toEqual([]);
    });

    it('refuses to run without ROUTING_MAP_ARN', async () => {
      delete process.env.ROUTING_MAP_ARN;
      await expect(assignTenantCell('acme-7', 'cell-2')).rejects.toThrow(/ROUTING_MAP_ARN/);
      expect(sent()).toEqual([]);
    });
  });

  describe('RoutingMap.removeTenant', () => {
    it('deletes the tenant’s entry at the version it just read', async () => {
      versions();
      kvs.on(DeleteKeyCommand).resolves({ ETag: 'etag-after' });
      await removeTenant('acme-7');
      expect(sent()).toEqual([
        ['DescribeKeyValueStoreCommand', { KvsARN: ARN }],
        ['DeleteKeyCommand', { KvsARN: ARN, Key: 'acme-7', IfMatch: 'etag-1' }],
      ]);
    });

    it('treats a tenant the map does not hold as removed', async () => {
      versions();
      kvs.on(DeleteKeyCommand).rejects(new ResourceNotFoundException({ message: 'Resource was not found.', ...meta }));
      await expect(removeTenant('acme-7')).resolves.toBeUndefined();
      expect(kvs.commandCalls(DeleteKeyCommand)).toHaveLength(1);
    });

    it('retries a delete whose ETag went stale', async () => {
      versions();
      kvs.on(DeleteKeyCommand).rejectsOnce(stale()).resolves({ ETag: 'etag-after' });
      await removeTenant('acme-7');
      expect(kvs.commandCalls(DeleteKeyCommand).map((call) => call.args[0].input.IfMatch)).toEqual(['etag-1', 'etag-2']);
    });
  });

  describe('RoutingMap.syncTenantRoute', () => {
    let registry: AwsClientStub<DynamoDBDocumentClient>;
    const savedTable = process.env.TENANTS_TABLE;
    beforeAll(() => {
      registry = mockClient(DynamoDBDocumentClient);
      process.env.TENANTS_TABLE = 'tenants';
    });
    beforeEach(() => registry.reset());
    afterAll(() => {
      registry.restore();
      if (savedTable === undefined) delete process.env.TENANTS_TABLE;
      else process.env.TENANTS_TABLE = savedTable;
    });
    const detail = (cellId: string | null, previousCellId: string | null) =>
      RoutingChangeDetail.parse({
        tenantId: 'acme-7',
        cellId,
        tier: 'basic',
        eventId: 'e-1',
        idempotencyKey: 'k',
        occurredAt: '2026-01-01T00:00:00.000Z',
        actor: 'operator',
        data: { cellId, previousCellId },
      });
    const registered = (item: Record<string, unknown> | undefined) => registry.on(GetCommand).resolves({ Item: item });

    it("reads the tenant's registry record, consistently, and points the map at its cell", async () => {
      versions();
      registered({ status: 'ACTIVE', cellId: 'cell-2' });
      kvs.on(PutKeyCommand).resolves({ ETag: 'etag-after' });
      expect(await syncTenantRoute(detail('cell-2', 'cell-1'))).toEqual({ tenantId: 'acme-7', cellId: 'cell-2', stale: false });
      expect(registry.commandCalls(GetCommand)[0]!.args[0].input).toMatchObject({ TableName: 'tenants', Key: { PK: 'TENANT#acme-7', SK: 'TENANT' }, ConsistentRead: true });
      expect(kvs.commandCalls(PutKeyCommand)[0]!.args[0]).toMatchObject({ input: { Key: 'acme-7', Value: 'cell-2' } });
    });

    it('follows the registry, not a late event: an onboarding event delivered after the move keeps the moved route', async () => {
      versions();
      registered({ status: 'ACTIVE', cellId: 'cell-2' });
      kvs.on(PutKeyCommand).resolves({ ETag: 'etag-after' });
      expect(await syncTenantRoute(detail('cell-1', null))).toEqual({ tenantId: 'acme-7', cellId: 'cell-2', stale: true });
      expect(kvs.commandCalls(PutKeyCommand).map((call) => call.args[0].input.Value)).toEqual(['cell-2']);
    });

    it('writes again when the registry changed while it wrote: a move that switched during a late event wins', async () => {
      versions();
      // The late onboarding event reads cell-1; by the time it has written, the move has switched to cell-2.
      registry
        .on(GetCommand)
        .resolvesOnce({ Item: { status: 'ACTIVE', cellId: 'cell-1' } })
        .resolves({ Item: { status: 'ACTIVE', cellId: 'cell-2' } });
      kvs.on(PutKeyCommand).resolves({ ETag: 'etag-after' });
      expect(await syncTenantRoute(detail('cell-1', null))).toEqual({ tenantId: 'acme-7', cellId: 'cell-2', stale: true });
      expect(kvs.commandCalls(PutKeyCommand).map((call) => call.args[0].input.Value)).toEqual(['cell-1', 'cell-2']);
    });

    it("ends on the registry's cell when its write raced another writer and the registry changed meanwhile", async () => {
      versions();
      registry
        .on(GetCommand)
        .resolvesOnce({ Item: { status: 'ACTIVE', cellId: 'cell-1' } })
        .resolves({ Item: { status: 'ACTIVE', cellId: 'cell-2' } });
      kvs.on(PutKeyCommand).rejectsOnce(stale()).resolves({ ETag: 'etag-after' });
      expect((await syncTenantRoute(detail('cell-2', 'cell-1'))).cellId).toBe('cell-2');
      // The stale write is retried on a fresh ETag; the read after it sees the switch and writes that.
      expect(kvs.commandCalls(PutKeyCommand).map((call) => [call.args[0].input.Value, call.args[0].input.IfMatch])).toEqual([
        ['cell-1', 'etag-1'],
        ['cell-1', 'etag-2'],
        ['cell-2', 'etag-3'],
      ]);
    });

    it('keeps a suspended tenant routed: its cell refuses it, with the suspension error', async () => {
      versions();
      registered({ status: 'SUSPENDED', cellId: 'cell-1' });
      kvs.on(PutKeyCommand).resolves({ ETag: 'etag-after' });
      expect((await syncTenantRoute(detail('cell-1', null))).cellId).toBe('cell-1');
    });

    it.each([
      ['offboarded', { status: 'OFFBOARDED', cellId: 'cell-1' }],
      ['unknown to the registry', undefined],
      ['without a cell', { status: 'PENDING' }],
    ])('removes a tenant that is %s, whatever the event says', async (_, item) => {
      versions();
      registered(item);
      kvs.on(DeleteKeyCommand).resolves({ ETag: 'etag-after' });
      expect((await syncTenantRoute(detail('cell-1', null))).cellId).toBeNull();
      expect(kvs.commandCalls(DeleteKeyCommand)[0]!.args[0]).toMatchObject({ input: { Key: 'acme-7' } });
      expect(kvs.commandCalls(PutKeyCommand)).toEqual([]);
    });
  });
});

describe('RoutingMap.RoutingChangeDetail', () => {
  const valid = { tenantId: 'acme-7', cellId: 'cell-2', data: { cellId: 'cell-2', previousCellId: null } };

  it('accepts a routing change and drops the envelope fields the writer does not need', () => {
    expect(RoutingChangeDetail.parse({ ...valid, tier: 'basic', actor: 'operator' })).toEqual(valid);
  });

  it.each([
    ['no tenant', { ...valid, tenantId: undefined }],
    ['an empty tenant', { ...valid, tenantId: '' }],
    ['a tenant id with a delimiter', { ...valid, tenantId: 't-1#x' }],
    ['no cell field', { tenantId: 'acme-7', data: valid.data }],
    ['a malformed cell', { ...valid, cellId: 'Cell 2', data: { cellId: 'Cell 2', previousCellId: null } }],
    ['no data', { tenantId: 'acme-7', cellId: 'cell-2' }],
    ['cells that disagree', { ...valid, data: { cellId: 'cell-1', previousCellId: null } }],
  ])('rejects %s', (_, detail) => {
    expect(RoutingChangeDetail.safeParse(detail).success).toBe(false);
  });
});

describe('the KeyValueStore client as the writer uses it', () => {
  it('signs with SigV4a (pure JS, registered by routing-map) and targets the account-derived global host', async () => {
    let request: { hostname?: string; path?: string; headers: Record<string, string> } | undefined;
    const client = new CloudFrontKeyValueStoreClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
      requestHandler: {
        handle: async (signed: typeof request) => {
          request = signed;
          throw new Error('captured, not sent');
        },
      },
    });
    await expect(client.send(new DescribeKeyValueStoreCommand({ KvsARN: ARN }))).rejects.toThrow('captured, not sent');
    expect(request?.hostname).toBe('123456789012.cloudfront-kvs.global.api.aws');
    expect(request?.headers.authorization).toMatch(/^AWS4-ECDSA-P256-SHA256 Credential=AKIAEXAMPLE\/\d{8}\/cloudfront-keyvaluestore\/aws4_request/);
    expect(request?.headers['x-amz-region-set']).toBe('*');
  });
});
