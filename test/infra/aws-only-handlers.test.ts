import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { CloudFormationCustomResourceEvent, Context, PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import * as Cell from '@cellbook/core/cells/cell';
import * as Keys from '@cellbook/core/keys/keys';
import { documentClient } from '@cellbook/core/shared/dynamo';
import { cellbookTable } from '@cellbook/local/aws/cellbook-table';
import { startLocalDynamo, type LocalDynamo } from '@cellbook/local/aws/dynamodb-endpoint';
import type { CellRegistration } from '@cellbook/core/cells/cell';
import type { RegistrationProperties } from '@cellbook/functions/deploy/register-cell';
import { CloudFrontKeyValueStoreClient, DeleteKeyCommand, DescribeKeyValueStoreCommand, PutKeyCommand, ValidationException } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import type { RoutingChangedEvent } from '@cellbook/functions/routing/map-writer';

/**
 * The functions only the AWS deployment has: the Cognito trigger that puts tenant and roles into
 * access tokens, the custom resource that records each deployed cell in the catalog, and the
 * writer of the router's KeyValueStore. The registrar runs against a real DynamoDB emulator
 * (dynalite) behind CDK's own provider-framework code, which answers CloudFormation; only the
 * framework's Lambda invoke and its HTTPS response are replaced (see `providerFramework`). The map writer reads a real (dynalite) registry; its KeyValueStore client is mocked:
 * there is no local stand-in (see below).
 */
/** A table keyed like every Cellbook table (PK/SK), in the dynalite at `endpoint`. */
async function createKeyedTable(endpoint: string, tableName: string): Promise<void> {
  await new DynamoDBClient({ endpoint }).send(new CreateTableCommand(cellbookTable(tableName, { listingIndex: false })));
}

describe('cognito/pre-token-generation', () => {
  const event = (attributes: Record<string, string>, groups: string[] | undefined) =>
    ({
      version: '2',
      triggerSource: 'TokenGeneration_Authentication',
      region: 'us-east-1',
      userPoolId: 'us-east-1_pool',
      userName: 'someone',
      callerContext: { awsSdkVersion: '3', clientId: 'client' },
      request: { userAttributes: attributes, groupConfiguration: groups ? { groupsToOverride: groups } : {}, scopes: [] },
      response: { claimsAndScopeOverrideDetails: {} },
    }) as unknown as PreTokenGenerationV2TriggerEvent;
  const claims = async (attributes: Record<string, string>, groups?: string[]) => {
    const { handler } = await import('@cellbook/functions/cognito/pre-token-generation');
    const result = await handler(event(attributes, groups));
    return result.response.claimsAndScopeOverrideDetails.accessTokenGeneration?.claimsToAddOrOverride;
  };

  it("puts a tenant user's tenant and groups into the access token", async () => {
    expect(await claims({ sub: 'u-1', 'custom:tenant_id': 'acme-7' }, ['admin'])).toEqual({ tenant_id: 'acme-7', roles: ['admin'] });
  });

  it('gives an operator its roles and no tenant claim at all', async () => {
    expect(await claims({ sub: 'op' }, ['operator'])).toEqual({ roles: ['operator'] });
  });

  it('gives a user in no group an empty role list', async () => {
    expect(await claims({ sub: 'u-2', 'custom:tenant_id': 'acme-7' })).toEqual({ tenant_id: 'acme-7', roles: [] });
  });
});

describe('deploy/register-cell behind the provider framework', () => {
  const CELLS_TABLE = 'cells';
  const REGISTRAR_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:registrar';
  let dynamo: LocalDynamo;
  let responses: Record<string, unknown>[];
  let handler: typeof import('@cellbook/functions/deploy/register-cell').handler;
  let framework: FrameworkRuntime;
  let quiet: { mockRestore(): void };

  const record: CellRegistration = {
    cellId: 'cell-7',
    placement: 'pooled',
    wave: 1,
    region: 'us-east-1',
    capacity: 50,
    status: 'active',
    tableName: 'test-cellbook-cell-7',
    apiId: 'a1b2c3d4e5',
    stage: 'test',
    tenantRoleArn: 'arn:aws:iam::123456789012:role/test-cellbook-cell-7-tenant-access',
    evidenceBucket: 'test-cellbook-cell-7-evidence',
    usagePlans: { basic: 'p-basic', standard: 'p-standard', premium: 'p-premium', enterprise: 'p-enterprise' },
  };
  const event = (
    type: 'Create' | 'Update' | 'Delete',
    properties: Partial<RegistrationProperties> & { Record: string },
    physicalResourceId?: string,
  ): CloudFormationCustomResourceEvent<RegistrationProperties> =>
    ({
      RequestType: type,
      ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider-framework',
      ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/response?signature=x',
      StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/test-cellbook-cell-7/id',
      RequestId: `request-${responses.length + 1}`,
      LogicalResourceId: 'CellRegistration',
      ResourceType: 'Custom::CellRegistration',
      ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider-framework', ...properties },
      ...(physicalResourceId ? { PhysicalResourceId: physicalResourceId } : {}),
      ...(type === 'Update' ? { OldResourceProperties: properties } : {}),
    }) as CloudFormationCustomResourceEvent<RegistrationProperties>;
  /** What CloudFormation hears about `request`: the framework's one response to it. */
  const deliver = async (request: CloudFormationCustomResourceEvent<RegistrationProperties>) => {
    await framework.onEvent(request);
    return responses.at(-1)!;
  };
  const stored = async () => {
    const { Item } = await documentClient({ endpoint: dynamo.url }).send(new GetCommand({ TableName: CELLS_TABLE, Key: Keys.cellRecordKey(record.cellId) }));
    return Item;
  };

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
      CELLS_TABLE,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      USER_ON_EVENT_FUNCTION_ARN: REGISTRAR_ARN,
    });
    await createKeyedTable(dynamo.url, CELLS_TABLE);
    responses = [];
    ({ handler } = await import('@cellbook/functions/deploy/register-cell'));
    framework = providerFramework({
      // Lambda's synchronous invoke: the handler's result, or what it threw as a function error.
      invoke: async (payload) => {
        try {
          return { StatusCode: 200, Payload: Buffer.from(JSON.stringify((await handler(JSON.parse(payload))) ?? null)) };
        } catch (error) {
          return { StatusCode: 200, FunctionError: 'Unhandled', Payload: Buffer.from(JSON.stringify({ errorType: 'Error', errorMessage: (error as Error).message })) };
        }
      },
      respond: (body) => responses.push(JSON.parse(body) as Record<string, unknown>),
    });
    // The framework logs every event and response to stdout (CloudWatch, in Lambda).
    quiet = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  });

  afterAll(async () => {
    quiet.mockRestore();
    await dynamo.close();
  });

  it('records a new cell in the catalog as active, with no tenants, and reports success', async () => {
    expect(await deliver(event('Create', { Record: JSON.stringify(record) }))).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'cell/cell-7',
      LogicalResourceId: 'CellRegistration',
      RequestId: 'request-1',
    });
    expect(await stored()).toMatchObject({ ...record, tenantCount: 0 });
  });

  it('makes the registered cell available to placement', async () => {
    const placed = await Cell.reserveSlot('pooled', 'first-tenant');
    expect(placed.cellId).toBe('cell-7');
    expect(placed.tenantCount).toBe(1);
    expect(placed.tenants).toEqual(new Set(['first-tenant']));
  });

  it('updates a redeployed cell and keeps its tenant count', async () => {
    expect(await deliver(event('Update', { Record: JSON.stringify({ ...record, capacity: 80, apiId: 'f6g7h8i9j0' }) }, 'cell/cell-7'))).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'cell/cell-7',
    });
    expect(await stored()).toMatchObject({ capacity: 80, apiId: 'f6g7h8i9j0', tenantCount: 1, status: 'active' });
  });

  it('drains a deleted cell rather than forgetting it', async () => {
    expect(await deliver(event('Delete', { Record: JSON.stringify(record) }, 'cell/cell-7'))).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'cell/cell-7' });
    expect(await stored()).toMatchObject({ status: 'draining', tenantCount: 1 });
    await expect(Cell.reserveSlot('pooled', 'second-tenant')).rejects.toThrow(/No pooled cell has room/);
  });

  it('reports a failed registration to CloudFormation instead of leaving the stack waiting', async () => {
    const response = await deliver(event('Create', { Record: '{not json' }));
    expect(response).toMatchObject({ Status: 'FAILED' });
    expect(response.Reason).toMatch(/JSON/);
    // CloudFormation rolls the failed create back with a Delete of that id: nothing to undo.
    const before = await stored();
    expect(await deliver(event('Delete', { Record: '{not json' }, response.PhysicalResourceId as string))).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: response.PhysicalResourceId,
    });
    expect(await stored()).toEqual(before);
  });

  it('drains nothing when asked to delete a registration it never made', async () => {
    const before = await stored();
    await expect(handler(event('Delete', { Record: JSON.stringify(record) }, 'unregistered/request-9'))).resolves.toEqual({ PhysicalResourceId: 'unregistered/request-9' });
    expect(await stored()).toEqual(before);
  });
});

interface FrameworkRuntime {
  onEvent(event: CloudFormationCustomResourceEvent<RegistrationProperties>): Promise<void>;
}

/**
 * The `onEvent` function CDK's `Provider` deploys (aws-cdk-lib's own runtime code), with its two
 * calls out replaced: Lambda's Invoke of the registrar and the HTTPS PUT of the response to
 * CloudFormation's pre-signed URL. Neither has a local stand-in; the runtime exposes them as
 * `outbound` functions precisely so they can be replaced, as CDK's own tests do.
 */
function providerFramework(calls: {
  invoke(payload: string): Promise<{ StatusCode: number; FunctionError?: string; Payload: Uint8Array }>;
  respond(body: string): void;
}): FrameworkRuntime {
  const require = createRequire(import.meta.url);
  const runtime = join(dirname(require.resolve('aws-cdk-lib')), 'custom-resources', 'lib', 'provider-framework', 'runtime');
  const outbound = require(join(runtime, 'outbound.js')) as Record<string, unknown>;
  outbound.invokeFunction = async (request: { FunctionName: string; Payload: string }) => {
    expect(request.FunctionName).toBe(process.env.USER_ON_EVENT_FUNCTION_ARN);
    return calls.invoke(request.Payload);
  };
  outbound.httpRequest = async (_options: unknown, body: string) => calls.respond(body);
  return require(join(runtime, 'framework.js')) as FrameworkRuntime;
}

// The KeyValueStore client is mocked because no local stand-in can exist: it derives its host from
// the ARN's account id (<account>.cloudfront-kvs.global.api.aws, even under an endpoint override)
// and signs with SigV4a. The bundled writer's real signing is exercised in the infra bundle suite.
describe('routing/map-writer', () => {
  const ARN = 'arn:aws:cloudfront::123456789012:key-value-store/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
  const context = {
    functionName: 'test-cellbook-routing-map-writer',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test-cellbook-routing-map-writer',
    memoryLimitInMB: '1024',
    awsRequestId: 'request-1',
    getRemainingTimeInMillis: () => 30_000,
  } as unknown as Context;
  const event = (detail: unknown, detailType = 'TenantRoutingChanged'): RoutingChangedEvent => ({
    version: '0',
    id: 'event-1',
    'detail-type': detailType,
    source: 'cellbook.control',
    account: '123456789012',
    time: '2026-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail,
  });
  const change = (tenantId: unknown, cellId: string | null, previousCellId: string | null) => ({
    tenantId,
    cellId,
    tier: 'standard',
    eventId: 'e-1',
    idempotencyKey: `TenantRoutingChanged#${String(tenantId)}#${previousCellId ?? '-'}#${cellId ?? '-'}`,
    occurredAt: '2026-01-01T00:00:00.000Z',
    actor: 'operator',
    data: { cellId, previousCellId },
  });

  let kvs: AwsClientStub<CloudFrontKeyValueStoreClient>;
  let handler: typeof import('@cellbook/functions/routing/map-writer').handler;
  let previousLevel: string | undefined;
  let lines: Record<string, unknown>[] = [];
  const restoreStreams: (() => void)[] = [];

  /** The tenant registry the writer reads (dynalite): where each tenant's route should point now. */
  const TENANTS_TABLE = 'tenants';
  let registry: LocalDynamo;
  const register = async (tenantId: string, fields: Record<string, unknown>) =>
    documentClient({ endpoint: registry.url }).send(new PutCommand({ TableName: TENANTS_TABLE, Item: { ...Keys.tenantRecordKey(tenantId), tenantId, ...fields } }));

  beforeAll(async () => {
    kvs = mockClient(CloudFrontKeyValueStoreClient);
    registry = await startLocalDynamo();
    await createKeyedTable(registry.url, TENANTS_TABLE);
    await register('acme-7', { status: 'ACTIVE', cellId: 'cell-2' });
    await register('gone-1', { status: 'OFFBOARDED', cellId: 'cell-2' });
    previousLevel = process.env.POWERTOOLS_LOG_LEVEL;
    Object.assign(process.env, {
      ROUTING_MAP_ARN: ARN,
      TENANTS_TABLE,
      AWS_ENDPOINT_URL_DYNAMODB: registry.url,
      AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
    // A fresh module graph: the logger reads its level once, at its first import, as in a cold start.
    vi.resetModules();
    ({ handler } = await import('@cellbook/functions/routing/map-writer'));
    // Powertools writes one JSON object per line to stdout (info) and stderr (error): keep them.
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write;
      restoreStreams.push(() => {
        stream.write = write;
      });
      stream.write = ((chunk: string | Uint8Array) => {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        return true;
      }) as typeof stream.write;
    }
  });

  beforeEach(() => {
    kvs.reset();
    kvs.on(DescribeKeyValueStoreCommand).resolves({ KvsARN: ARN, ETag: 'etag-1' });
    kvs.on(PutKeyCommand).resolves({ ETag: 'etag-2' });
    kvs.on(DeleteKeyCommand).resolves({ ETag: 'etag-2' });
    lines = [];
  });

  afterAll(async () => {
    for (const restore of restoreStreams) restore();
    kvs.restore();
    await registry?.close();
    delete process.env.TENANTS_TABLE;
    if (previousLevel === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
    else process.env.POWERTOOLS_LOG_LEVEL = previousLevel;
    delete process.env.ROUTING_MAP_ARN;
  });

  it("puts the tenant's new cell into the routing map, and logs it under the tenant's id", async () => {
    await handler(event(change('acme-7', 'cell-2', 'cell-1')), context);
    expect(kvs.commandCalls(PutKeyCommand).map((call) => call.args[0].input)).toEqual([{ KvsARN: ARN, Key: 'acme-7', Value: 'cell-2', IfMatch: 'etag-1' }]);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'INFO', message: 'tenant routed to its cell', tenant_id: 'acme-7', cell_id: 'cell-2', previous_cell_id: 'cell-1' }),
    );
  });

  it('removes an offboarded tenant (cellId null) from the map', async () => {
    await handler(event(change('gone-1', null, 'cell-2')), context);
    expect(kvs.commandCalls(DeleteKeyCommand).map((call) => call.args[0].input)).toEqual([{ KvsARN: ARN, Key: 'gone-1', IfMatch: 'etag-1' }]);
    expect(kvs.commandCalls(PutKeyCommand)).toEqual([]);
    expect(lines).toContainEqual(expect.objectContaining({ message: 'tenant removed from the routing map', tenant_id: 'gone-1' }));
  });

  it('writes where the registry says the tenant is now, not where a late event says: deliveries in any order end on the current route', async () => {
    // The tenant was onboarded into cell-1 and has since moved to cell-2; the onboarding's event arrives last.
    await handler(event(change('acme-7', 'cell-2', 'cell-1')), context);
    await handler(event(change('acme-7', 'cell-1', null)), context);
    expect(kvs.commandCalls(PutKeyCommand).map((call) => call.args[0].input.Value)).toEqual(['cell-2', 'cell-2']);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'routing change overtaken by a later one: the map follows the registry',
        tenant_id: 'acme-7',
        routed_cell_id: 'cell-2',
      }),
    );
    // A late move event for an offboarded tenant does not route it again.
    await handler(event(change('gone-1', 'cell-2', 'cell-1')), context);
    expect(kvs.commandCalls(DeleteKeyCommand).map((call) => call.args[0].input.Key)).toEqual(['gone-1']);
  });

  it('removes a tenant the registry does not know, rather than routing it', async () => {
    await handler(event(change('ghost-3', 'cell-1', null)), context);
    expect(kvs.commandCalls(PutKeyCommand)).toEqual([]);
    expect(kvs.commandCalls(DeleteKeyCommand).map((call) => call.args[0].input.Key)).toEqual(['ghost-3']);
  });

  it.each([
    ['no tenantId', { ...change('x', 'cell-2', null), tenantId: undefined }],
    ['a null tenantId', change(null, 'cell-2', null)],
    ['an empty tenantId', change('', 'cell-2', null)],
    ['a tenantId with a key delimiter', change('acme-7#x', 'cell-2', null)],
    ['a malformed cell', change('acme-7', 'Cell Two', null)],
    ['no detail at all', null],
  ])('throws for an event with %s, so Lambda retries and then dead-letters it, writing nothing', async (_, detail) => {
    await expect(handler(event(detail), context)).rejects.toThrow(/malformed TenantRoutingChanged detail/);
    expect(kvs.calls()).toEqual([]);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'ERROR', message: 'routing change refused: malformed detail' }));
  });

  it('names the tenant a refused event claims on its error line', async () => {
    await expect(handler(event(change('acme-7', 'Cell Two', null)), context)).rejects.toThrow();
    expect(lines).toContainEqual(expect.objectContaining({ level: 'ERROR', tenant_id: 'acme-7' }));
  });

  it('throws for an event of another type instead of guessing what it means', async () => {
    await expect(handler(event(change('acme-7', 'cell-2', null), 'TenantActivated'), context)).rejects.toThrow(/unexpected detail-type/);
    expect(kvs.calls()).toEqual([]);
  });

  it('fails the invocation when the store refuses the write, so the event is retried', async () => {
    kvs.on(PutKeyCommand).rejects(new ValidationException({ message: 'Validation failed.', $metadata: {} }));
    await expect(handler(event(change('acme-7', 'cell-2', null)), context)).rejects.toBeInstanceOf(ValidationException);
  });

  it('carries no tenant from one invocation into the next', async () => {
    await handler(event(change('acme-7', 'cell-2', null)), context);
    lines = [];
    await expect(handler(event(change(undefined, 'cell-2', null)), context)).rejects.toThrow();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).not.toHaveProperty('tenant_id', 'acme-7');
  });
});
