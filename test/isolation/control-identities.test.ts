import { DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { CONTROL_IDENTITIES, controlIdentityOf, type ControlIdentity } from '@cellbook/core/access/control-identities';
import { TENANT_TAG_KEY } from '@cellbook/core/access/tenant-access-policy';
import { CONTROL_EVENT_CONSUMERS, CONTROL_ROUTES, CONTROL_SCHEDULES, LOG_SUBSCRIBERS } from '@cellbook/functions/routes';
import { controlRoleArn } from '@cellbook/local/roles/control-roles';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform } from '../support/platform.js';

/**
 * Locally, as in the ControlPlane stack, each control handler runs under its own identity's role
 * (core's CONTROL_IDENTITIES), with exactly core's statements and the grants each cell added when it
 * booted — not under one broad control-plane role. Shown with the handlers' own credentials against
 * the local IAM: a reading identity cannot write, and only the identities that work on one tenant's
 * cell data may open a tenant session in a cell.
 */
const PREFIX = 'cellbook-local';
let env: TestPlatform;

beforeAll(async () => {
  env = await bootTestPlatform();
});
afterAll(() => env?.stop());

const HANDLERS = [
  ...CONTROL_ROUTES.map((route) => route.handler),
  ...CONTROL_EVENT_CONSUMERS.map((c) => c.handler),
  ...CONTROL_SCHEDULES.map((job) => job.handler),
  ...LOG_SUBSCRIBERS.map((subscriber) => subscriber.handler),
];

/** The credentials a control handler's function runs with. */
function credentialsOf(handler: string) {
  const vars = env.platform.controlFunctionEnv(handler);
  return { accessKeyId: vars.AWS_ACCESS_KEY_ID!, secretAccessKey: vars.AWS_SECRET_ACCESS_KEY!, sessionToken: vars.AWS_SESSION_TOKEN! };
}

const dynamo = (handler: string) => new DynamoDBClient({ region: env.platform.region, endpoint: env.platform.endpoints.dynamodb, credentials: credentialsOf(handler) });
const sts = (handler: string) => new STSClient({ region: env.platform.region, endpoint: env.platform.endpoints.sts, credentials: credentialsOf(handler) });

/** A handler of each identity, to speak with its credentials. */
const handlerOf = (identity: ControlIdentity): string => HANDLERS.find((handler) => controlIdentityOf(handler) === identity)!;

async function refused(call: Promise<unknown>): Promise<string> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught as { name?: string },
  );
  return error?.name ?? 'allowed';
}

describe('each local control handler runs under its own identity', () => {
  it('every control handler (route, consumer, schedule) has an identity, and its function holds a session of that identity’s role', () => {
    expect(HANDLERS.length).toBeGreaterThan(0);
    for (const handler of HANDLERS) {
      const session = env.platform.iam.resolveSession(env.platform.controlFunctionEnv(handler).AWS_ACCESS_KEY_ID!);
      expect(session?.roleArn, handler).toBe(controlRoleArn(PREFIX, CONTROL_IDENTITIES[handler]!));
    }
  });

  it('no two identities share a role', () => {
    const identityOfRole = new Map<string, ControlIdentity>();
    for (const handler of HANDLERS) {
      const roleArn = env.platform.iam.resolveSession(env.platform.controlFunctionEnv(handler).AWS_ACCESS_KEY_ID!)!.roleArn;
      const identity = controlIdentityOf(handler);
      expect(identityOfRole.get(roleArn) ?? identity, handler).toBe(identity);
      identityOfRole.set(roleArn, identity);
    }
  });

  it('the registry readers (tenant list, tenant, audit, cells) read the registry but cannot write or scan it', async () => {
    const db = dynamo('control/tenants-list');
    const TableName = `${PREFIX}-tenants`;
    const Key = { PK: { S: 'TENANT#t-nobody' }, SK: { S: 'TENANT' } };
    // The control: the same credentials may read.
    expect(await refused(db.send(new GetItemCommand({ TableName, Key })))).toBe('allowed');
    expect(await refused(db.send(new PutItemCommand({ TableName, Item: { ...Key, status: { S: 'ACTIVE' } } })))).toBe('AccessDeniedException');
    expect(
      await refused(
        db.send(
          new UpdateItemCommand({
            TableName,
            Key,
            UpdateExpression: 'SET #s = :s',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':s': { S: 'ACTIVE' } },
          }),
        ),
      ),
    ).toBe('AccessDeniedException');
    expect(await refused(db.send(new ScanCommand({ TableName })))).toBe('AccessDeniedException');
    db.destroy();
  });

  it('the tenant-status identity may update a tenant record but not touch the catalog or any cell table', async () => {
    const db = dynamo(handlerOf('tenant-status'));
    const cellTable = env.platform.cells[0]!.tableName;
    expect(await refused(db.send(new GetItemCommand({ TableName: `${PREFIX}-tenants`, Key: { PK: { S: 'TENANT#t-nobody' }, SK: { S: 'TENANT' } } })))).toBe('allowed');
    expect(await refused(db.send(new PutItemCommand({ TableName: `${PREFIX}-cells`, Item: { PK: { S: 'CELL#cell-x' }, SK: { S: 'CELL' } } })))).toBe('AccessDeniedException');
    expect(await refused(db.send(new GetItemCommand({ TableName: cellTable, Key: { PK: { S: 'TENANT#t-nobody#META' }, SK: { S: 'META' } } })))).toBe('AccessDeniedException');
    db.destroy();
  });

  it('onboarding seeds a tenant’s defaults in a cell (the grant the cell added when it booted), and nothing else there', async () => {
    const db = dynamo('control/tenants-create');
    const TableName = env.platform.cells[0]!.tableName;
    const tenant = `t-${Date.now().toString(36)}`;
    expect(await refused(db.send(new PutItemCommand({ TableName, Item: { PK: { S: `TENANT#${tenant}#META` }, SK: { S: 'META' } } })))).toBe('allowed');
    expect(await refused(db.send(new PutItemCommand({ TableName, Item: { PK: { S: `TENANT#${tenant}` }, SK: { S: 'CASE#1' } } })))).toBe('AccessDeniedException');
    expect(await refused(db.send(new GetItemCommand({ TableName, Key: { PK: { S: `TENANT#${tenant}#META` }, SK: { S: 'META' } } })))).toBe('AccessDeniedException');
    db.destroy();
  });

  it('only the mover, offboarding, export and the usage snapshot open a tenant session in a cell; the registry readers, onboarding, the broker and the usage reports cannot', async () => {
    const RoleArn = env.platform.cells[0]!.roles.tenantAccess;
    const open = (handler: string) =>
      refused(sts(handler).send(new AssumeRoleCommand({ RoleArn, RoleSessionName: 'proof', Tags: [{ Key: TENANT_TAG_KEY, Value: 't-proof' }] })));
    for (const identity of ['tenant-mover', 'tenant-offboarding', 'tenant-export', 'usage-snapshot'] as const)
      expect(await open(handlerOf(identity)), identity).toBe('allowed');
    for (const identity of ['registry-read', 'onboarding', 'identity-broker', 'tenant-status', 'move-request', 'usage-read'] as const) {
      expect(await open(handlerOf(identity)), identity).toBe('AccessDenied');
    }
  });

  it('the operator API still answers through the per-identity functions', async () => {
    const tenant = await env.onboard();
    const got = await env.call('GET', `/admin/tenants/${tenant.tenantId}`, { token: env.operatorToken });
    expect([got.status, got.body.tenantId]).toEqual([200, tenant.tenantId]);
    const suspended = await env.call('POST', `/admin/tenants/${tenant.tenantId}/suspend`, { token: env.operatorToken });
    expect(suspended.status).toBe(200);
  });
});
