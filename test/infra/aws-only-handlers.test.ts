import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { CloudFormationCustomResourceEvent, PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cell, Keys } from '@cellbook/core';
import { documentClient } from '@cellbook/core/dynamo';
import { startLocalDynamo, type LocalDynamo } from '@cellbook/local/aws/dynamodb-endpoint';
import type { CellRegistration, RegistrationProperties } from '@cellbook/functions/deploy/register-cell';

/**
 * The two functions only the AWS deployment has: the Cognito trigger that puts tenant and roles
 * into access tokens, and the custom resource that records each deployed cell in the catalog. The
 * registrar runs against a real DynamoDB emulator (dynalite) and answers CloudFormation over HTTP,
 * exactly as it would in Lambda; nothing is mocked.
 */
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

describe('deploy/register-cell', () => {
  const CELLS_TABLE = 'cells';
  let dynamo: LocalDynamo;
  let cloudFormation: Server;
  let responseUrl: string;
  let responses: Record<string, unknown>[];
  let refuseResponses = false;
  let handler: typeof import('@cellbook/functions/deploy/register-cell').handler;

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
    usagePlans: { basic: 'p-basic', standard: 'p-standard', premium: 'p-premium', enterprise: 'p-enterprise' },
  };
  const event = (
    type: 'Create' | 'Update' | 'Delete',
    properties: Partial<RegistrationProperties> & { Record: string },
    physicalResourceId?: string,
  ): CloudFormationCustomResourceEvent<RegistrationProperties> =>
    ({
      RequestType: type,
      ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:registrar',
      ResponseURL: responseUrl,
      StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/test-cellbook-cell-7/id',
      RequestId: `request-${responses.length + 1}`,
      LogicalResourceId: 'CellRegistration',
      ResourceType: 'Custom::CellRegistration',
      ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:registrar', ...properties },
      ...(physicalResourceId ? { PhysicalResourceId: physicalResourceId } : {}),
      ...(type === 'Update' ? { OldResourceProperties: properties } : {}),
    }) as CloudFormationCustomResourceEvent<RegistrationProperties>;
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
    });
    await new DynamoDBClient({ endpoint: dynamo.url }).send(
      new CreateTableCommand({
        TableName: CELLS_TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'PK', AttributeType: 'S' },
          { AttributeName: 'SK', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'PK', KeyType: 'HASH' },
          { AttributeName: 'SK', KeyType: 'RANGE' },
        ],
      }),
    );
    responses = [];
    cloudFormation = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        if (req.method === 'PUT') responses.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(refuseResponses ? 403 : 200).end();
      });
    });
    await new Promise<void>((resolve) => cloudFormation.listen(0, '127.0.0.1', resolve));
    responseUrl = `http://127.0.0.1:${(cloudFormation.address() as AddressInfo).port}/response?signature=x`;
    ({ handler } = await import('@cellbook/functions/deploy/register-cell'));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => cloudFormation.close(() => resolve()));
    await dynamo.close();
  });

  it('records a new cell in the catalog as active, with no tenants, and reports success', async () => {
    await handler(event('Create', { Record: JSON.stringify(record) }));
    expect(responses.at(-1)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'cell/cell-7', LogicalResourceId: 'CellRegistration', RequestId: 'request-1' });
    expect(await stored()).toMatchObject({ ...record, tenantCount: 0 });
  });

  it('makes the registered cell available to placement', async () => {
    const placed = await Cell.reserveSlot('pooled');
    expect(placed.cellId).toBe('cell-7');
    expect(placed.tenantCount).toBe(1);
  });

  it('updates a redeployed cell and keeps its tenant count', async () => {
    await handler(event('Update', { Record: JSON.stringify({ ...record, capacity: 80, apiId: 'f6g7h8i9j0' }) }, 'cell/cell-7'));
    expect(responses.at(-1)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'cell/cell-7' });
    expect(await stored()).toMatchObject({ capacity: 80, apiId: 'f6g7h8i9j0', tenantCount: 1, status: 'active' });
  });

  it('drains a deleted cell rather than forgetting it', async () => {
    await handler(event('Delete', { Record: JSON.stringify(record) }, 'cell/cell-7'));
    expect(responses.at(-1)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'cell/cell-7' });
    expect(await stored()).toMatchObject({ status: 'draining', tenantCount: 1 });
    await expect(Cell.reserveSlot('pooled')).rejects.toThrow(/No pooled cell has room/);
  });

  it('reports a failed registration to CloudFormation instead of leaving the stack waiting', async () => {
    await handler(event('Create', { Record: '{not json' }));
    const response = responses.at(-1)!;
    expect(response).toMatchObject({ Status: 'FAILED' });
    expect(response.PhysicalResourceId).toMatch(/^unregistered\//);
    // CloudFormation rolls the failed create back with a Delete of that id: nothing to undo.
    const before = await stored();
    await handler(event('Delete', { Record: '{not json' }, response.PhysicalResourceId as string));
    expect(responses.at(-1)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: response.PhysicalResourceId });
    expect(await stored()).toEqual(before);
  });

  it('fails the invocation when CloudFormation does not accept the response', async () => {
    refuseResponses = true;
    try {
      await expect(handler(event('Update', { Record: JSON.stringify(record) }, 'cell/cell-7'))).rejects.toThrow(/rejected the custom resource response \(403\)/);
    } finally {
      refuseResponses = false;
    }
  });
});
