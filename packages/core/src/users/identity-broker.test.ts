import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BrokerCallerRefused } from '../shared/errors.js';
import {
  authorizeCaller,
  BROKER_USER_PATH,
  BROKER_USER_RESET_PASSWORD_PATH,
  BROKER_USER_SIGN_OUT_PATH,
  BROKER_USERS_PATH,
  InviteInput,
  identityBrokerInvokePolicy,
  tenantSessionName,
} from './identity-broker.js';

const STAGE = 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod';

describe('what a tenant session may invoke on the control plane', () => {
  const [statement] = identityBrokerInvokePolicy({ apiStageArn: STAGE }).Statement;

  it('is only the broker user routes of the tenant its TenantId tag names', () => {
    expect(statement.Effect).toBe('Allow');
    expect(statement.Action).toBe('execute-api:Invoke');
    const users = `/broker/tenants/\${aws:PrincipalTag/TenantId}/users`;
    expect(statement.Resource).toEqual([
      `${STAGE}/POST${users}`,
      `${STAGE}/DELETE${users}/*`,
      `${STAGE}/PATCH${users}/*`,
      `${STAGE}/POST${users}/*/sign-out`,
      `${STAGE}/POST${users}/*/reset-password`,
    ]);
  });

  it('lets a tenant session POST to a user only to sign them out or reset their password', () => {
    const posts = statement.Resource.filter((resource) => resource.includes('/POST/') && resource.includes('/users/'));
    expect(posts.every((resource) => resource.endsWith('/sign-out') || resource.endsWith('/reset-password'))).toBe(true);
  });

  it('names no tenant itself, no admin route and no wildcard before the tenant segment', () => {
    for (const resource of statement.Resource) {
      expect(resource.startsWith(`${STAGE}/`)).toBe(true);
      expect(resource).not.toMatch(/\/admin\//);
      expect(resource.slice(0, resource.indexOf('${'))).not.toContain('*');
      expect(resource).not.toMatch(/\bt-\d/);
    }
  });

  it('builds its paths from the routes the broker serves', () => {
    expect(BROKER_USERS_PATH).toBe('/broker/tenants/{tenantId}/users');
    expect(BROKER_USER_PATH).toBe(`${BROKER_USERS_PATH}/{username}`);
    expect(BROKER_USER_SIGN_OUT_PATH).toBe(`${BROKER_USER_PATH}/sign-out`);
    expect(BROKER_USER_RESET_PASSWORD_PATH).toBe(`${BROKER_USER_PATH}/reset-password`);
  });
});

describe('the tenant session name', () => {
  it('names the tenant it serves, within IAM’s 64 characters', () => {
    expect(tenantSessionName('t-42')).toBe('tenant-t-42');
    expect(tenantSessionName(`t-${'9'.repeat(80)}`)).toHaveLength(64);
  });
});

describe('an invitation the broker accepts', () => {
  it('is an e-mail address (stored lower-case) and a tenant role', () => {
    expect(InviteInput.parse({ email: 'Ada@Example.com', role: 'admin' })).toEqual({ email: 'ada@example.com', role: 'admin' });
    expect(InviteInput.parse({ email: 'bob@example.com', role: 'user' }).role).toBe('user');
  });

  it('never names the operator role, another tenant or any other member', () => {
    expect(InviteInput.safeParse({ email: 'eve@example.com', role: 'operator' }).success).toBe(false);
    expect(InviteInput.safeParse({ email: 'eve@example.com', role: 'user', tenantId: 't-2' }).success).toBe(false);
    expect(InviteInput.safeParse({ email: 'not an address', role: 'user' }).success).toBe(false);
    expect(InviteInput.safeParse({ email: `${'a'.repeat(250)}@example.com`, role: 'user' }).success).toBe(false);
  });
});

// The registry and catalog the broker reads, mocked: these cases pin which callers it accepts,
// whatever the storage engine (the integration suite drives the same checks through the platform).
describe('the caller the broker acts for', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const saved = { TENANTS_TABLE: process.env.TENANTS_TABLE, CELLS_TABLE: process.env.CELLS_TABLE };
  const ACCOUNT = '123456789012';
  const cell = (cellId: string, account = ACCOUNT) => ({
    cellId,
    tenantRoleArn: `arn:aws:iam::${account}:role/cellbook-prod-${cellId}-tenant-access`,
  });
  const session = (cellId: string, tenantId: string, account = ACCOUNT) =>
    `arn:aws:sts::${account}:assumed-role/cellbook-prod-${cellId}-tenant-access/${tenantSessionName(tenantId)}`;
  let tenants: Record<string, { tenantId: string; status: string; cellId: string }>;

  beforeAll(() => {
    process.env.TENANTS_TABLE = 'tenants';
    process.env.CELLS_TABLE = 'cells';
  });
  afterAll(() => {
    ddb.restore();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  beforeEach(() => {
    ddb.reset();
    tenants = {
      't-1': { tenantId: 't-1', status: 'ACTIVE', cellId: 'cell-1' },
      't-2': { tenantId: 't-2', status: 'ACTIVE', cellId: 'cell-2' },
      't-3': { tenantId: 't-3', status: 'SUSPENDED', cellId: 'cell-1' },
      't-4': { tenantId: 't-4', status: 'PENDING', cellId: 'cell-1' },
      't-6': { tenantId: 't-6', status: 'ACTIVE', cellId: 'cell-1' },
    };
    ddb.on(ScanCommand).resolves({ Items: [cell('cell-1'), cell('cell-2'), { cellId: 'cell-9' }] });
    ddb.on(GetCommand).callsFake((input: { Key: { PK: string } }) => {
      const tenantId = Object.keys(tenants).find((id) => input.Key.PK.includes(id) && input.Key.PK.endsWith(id));
      return { Item: tenantId ? tenants[tenantId] : undefined };
    });
  });

  it('is the tenant in the path, when the tenant session of the cell it is placed in asks and it is active', async () => {
    await expect(authorizeCaller({ userArn: session('cell-1', 't-1') }, 't-1')).resolves.toMatchObject({ tenantId: 't-1', cellId: 'cell-1' });
    await expect(authorizeCaller({ userArn: session('cell-2', 't-2') }, 't-2')).resolves.toMatchObject({ tenantId: 't-2', cellId: 'cell-2' });
  });

  it.each([
    ['no caller identity', null, 't-1'],
    ['an IAM user, not a role session', `arn:aws:iam::${ACCOUNT}:user/alice`, 't-1'],
    ['another tenant’s session name', session('cell-1', 't-2'), 't-1'],
    ['a session of another tenant of the same cell than the path names', session('cell-1', 't-1'), 't-6'],
    ['the session of a cell the tenant is not placed in', session('cell-2', 't-1'), 't-1'],
    ['a cell’s tenant role in another account', session('cell-1', 't-1', '210987654321'), 't-1'],
    ['a role no cell uses', `arn:aws:sts::${ACCOUNT}:assumed-role/cellbook-prod-control/${tenantSessionName('t-1')}`, 't-1'],
    ['a suspended tenant', session('cell-1', 't-3'), 't-3'],
    ['a tenant whose onboarding is not finished', session('cell-1', 't-4'), 't-4'],
    ['a tenant that does not exist', session('cell-1', 't-5'), 't-5'],
    ['a path tenant id that is not one', session('cell-1', 't-1'), 'T-1'],
  ])('refuses %s', async (_what, userArn, pathTenantId) => {
    await expect(authorizeCaller({ userArn }, pathTenantId)).rejects.toBeInstanceOf(BrokerCallerRefused);
  });
});
