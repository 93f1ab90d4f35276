import { beforeEach, describe, expect, it } from 'vitest';
import {
  ADMIN_ROLE,
  API_ROLE,
  OTHER_API_ROLE,
  TABLE,
  TABLE_ARN,
  TENANT_ROLE,
  adminRole,
  apiRole,
  lambdaTrust,
  otherApiRole,
  tenantAccessRole,
  trustApiRole,
} from './cell-roles.fixture.js';
import { planDynamoDbAccess, TABLE_OPERATIONS, tableArn, type TableKeys } from './dynamodb-access-checks.js';
import { LocalIam } from './local-iam.js';
import type { RoleSession } from './types.js';

let iam: LocalIam;
let tenant1: RoleSession;
let api: RoleSession;

beforeEach(() => {
  iam = new LocalIam();
  for (const role of [apiRole, otherApiRole, tenantAccessRole(), adminRole]) iam.createRole(role);
  api = iam.issueRoleSession(API_ROLE, 'lambda');
  tenant1 = iam.issueRoleSession(TENANT_ROLE, 'tenant-t-1', { TenantId: 't-1' });
});

const getItem = (leadingKeys: string[]) => ({ action: 'dynamodb:GetItem', resource: TABLE_ARN, context: { 'dynamodb:LeadingKeys': leadingKeys } });

describe('LocalIam.issueRoleSession', () => {
  it('issues temporary credentials shaped like STS ones', () => {
    expect(tenant1.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(tenant1.assumedRoleArn).toBe('arn:aws:sts::000000000000:assumed-role/cell-1-tenant-access/tenant-t-1');
    expect(iam.resolveSession(tenant1.accessKeyId)).toBe(tenant1);
    expect(iam.userId(tenant1)).toMatch(/^AROA[A-Z2-7]{17}:tenant-t-1$/);
  });
});

describe('LocalIam.authorize', () => {
  it('allows t-1 its own case item', async () => {
    expect(await iam.authorize(tenant1, getItem(['TENANT#t-1#CASE#x']))).toMatchObject({ allowed: true });
  });

  it('allows t-1 its listing partition on the index', async () => {
    const decision = await iam.authorize(tenant1, {
      action: 'dynamodb:Query',
      resource: `${TABLE_ARN}/index/GSI1`,
      context: { 'dynamodb:LeadingKeys': ['TENANT#t-1#CASES'] },
    });
    expect(decision.allowed).toBe(true);
  });

  it('denies t-1 a key of t-10', async () => {
    expect(await iam.authorize(tenant1, getItem(['TENANT#t-10#CASE#x']))).toEqual({
      allowed: false,
      reason: 'because no identity-based policy allows the dynamodb:GetItem action',
    });
  });

  it('denies a request without leading keys', async () => {
    expect((await iam.authorize(tenant1, { action: 'dynamodb:GetItem', resource: TABLE_ARN })).allowed).toBe(false);
    expect((await iam.authorize(tenant1, { action: 'dynamodb:Scan', resource: TABLE_ARN })).allowed).toBe(false);
  });

  it('denies a batch that mixes t-1 and t-2 keys', async () => {
    const decision = await iam.authorize(tenant1, {
      action: 'dynamodb:BatchGetItem',
      resource: TABLE_ARN,
      context: { 'dynamodb:LeadingKeys': ['TENANT#t-1#CASE#a', 'TENANT#t-2#CASE#b'] },
    });
    expect(decision.allowed).toBe(false);
  });

  it('ignores a principal tag smuggled in through the request context', async () => {
    const decision = await iam.authorize(tenant1, {
      ...getItem(['TENANT#t-2#CASE#x']),
      context: { 'dynamodb:LeadingKeys': ['TENANT#t-2#CASE#x'], 'aws:PrincipalTag/TenantId': 't-2' },
    });
    expect(decision.allowed).toBe(false);
  });

  it('reports an explicit deny as such', async () => {
    iam.putRolePolicy(TENANT_ROLE, 'no-deletes', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: 'dynamodb:DeleteItem', Resource: '*' }],
    });
    const decision = await iam.authorize(tenant1, { ...getItem(['TENANT#t-1#CASE#x']), action: 'dynamodb:DeleteItem' });
    expect(decision).toEqual({ allowed: false, reason: 'with an explicit deny in an identity-based policy' });
  });

  it('applies a policy change to the very next request', async () => {
    expect((await iam.authorize(tenant1, getItem(['TENANT#t-1#CASE#x']))).allowed).toBe(true);
    iam.putRolePolicy(TENANT_ROLE, 'tenant-items', { Version: '2012-10-17', Statement: [] });
    expect((await iam.authorize(tenant1, getItem(['TENANT#t-1#CASE#x']))).allowed).toBe(false);
  });

  it('never answers a request with a decision remembered for another key, tenant or action', async () => {
    const tenant2 = iam.issueRoleSession(TENANT_ROLE, 'tenant-t-2', { TenantId: 't-2' });
    for (let round = 0; round < 2; round++) {
      expect((await iam.authorize(tenant1, getItem(['TENANT#t-1#CASE#x']))).allowed).toBe(true);
      expect((await iam.authorize(tenant1, getItem(['TENANT#t-2#CASE#x']))).allowed).toBe(false);
      expect((await iam.authorize(tenant2, getItem(['TENANT#t-1#CASE#x']))).allowed).toBe(false);
      expect((await iam.authorize(tenant2, getItem(['TENANT#t-2#CASE#x']))).allowed).toBe(true);
      expect((await iam.authorize(tenant1, { ...getItem(['TENANT#t-1#CASE#x']), resource: tableArn('cellbook-cell-2') })).allowed).toBe(false);
      expect((await iam.authorize(api, getItem(['TENANT#t-1#CASE#x']))).allowed).toBe(false);
    }
  });

  it('evaluates a policy that names the time afresh on every request', async () => {
    let now = Date.parse('2026-12-02T10:00:00Z');
    const clocked = new LocalIam({ now: () => now });
    clocked.createRole({
      name: 'until-noon',
      arn: 'arn:aws:iam::000000000000:role/until-noon',
      policies: [
        {
          name: 'until-noon',
          document: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: TABLE_ARN, Condition: { DateLessThan: { 'aws:CurrentTime': '2026-12-02T12:00:00Z' } } }],
          },
        },
      ],
      trustPolicy: lambdaTrust,
    });
    const session = clocked.issueRoleSession('arn:aws:iam::000000000000:role/until-noon', 'lambda', {}, 43_200);
    expect((await clocked.authorize(session, getItem(['k']))).allowed).toBe(true);
    now = Date.parse('2026-12-02T12:00:01Z');
    expect((await clocked.authorize(session, getItem(['k']))).allowed).toBe(false);
  });

  it('treats a policy the simulator rejects as a deny and says why', async () => {
    iam.putRolePolicy(TENANT_ROLE, 'tenant-items', {
      Version: '2012-10-17',
      // An identity policy statement must name a Resource.
      Statement: [{ Effect: 'Allow', Action: 'dynamodb:GetItem' }],
    });
    const decision = await iam.authorize(tenant1, getItem(['TENANT#t-1#CASE#x']));
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toMatch(/^because the policy simulation failed \(policy\.errors\).*Resource or NotResource is required/);
  });

  it('raises no simulation error for any check the DynamoDB endpoint plans', async () => {
    const keys: TableKeys = { partitionKey: 'PK', indexPartitionKeys: { GSI1: 'GSI1PK' } };
    const key = { PK: { S: 'TENANT#t-1#CASE#x' }, SK: { S: 'CASE' } };
    const requests: [string, Record<string, unknown>][] = [
      ['GetItem', { TableName: TABLE, Key: key }],
      ['PutItem', { TableName: TABLE, Item: key }],
      ['UpdateItem', { TableName: TABLE, Key: key }],
      ['DeleteItem', { TableName: TABLE, Key: key }],
      ['Query', { TableName: TABLE, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': key.PK } }],
      ['Query', { TableName: TABLE, IndexName: 'GSI1', KeyConditionExpression: 'GSI1PK = :p', ExpressionAttributeValues: { ':p': { S: 'TENANT#t-1#CASES' } } }],
      ['Scan', { TableName: TABLE }],
      ['Scan', { TableName: TABLE, IndexName: 'GSI1' }],
      ['BatchGetItem', { RequestItems: { [TABLE]: { Keys: [key] } } }],
      ['BatchWriteItem', { RequestItems: { [TABLE]: [{ PutRequest: { Item: key } }, { DeleteRequest: { Key: key } }] } }],
      ['TransactGetItems', { TransactItems: [{ Get: { TableName: TABLE, Key: key } }] }],
      [
        'TransactWriteItems',
        {
          TransactItems: [
            { ConditionCheck: { TableName: TABLE, Key: key } },
            { Put: { TableName: TABLE, Item: key } },
            { Update: { TableName: TABLE, Key: key } },
            { Delete: { TableName: TABLE, Key: key } },
          ],
        },
      ],
      ...[...TABLE_OPERATIONS].map((operation): [string, Record<string, unknown>] => [operation, { TableName: TABLE }]),
      ['ListTables', {}],
      ['DescribeLimits', {}],
      ['TagResource', { ResourceArn: TABLE_ARN }],
      ['UntagResource', { ResourceArn: TABLE_ARN }],
      ['ListTagsOfResource', { ResourceArn: TABLE_ARN }],
    ];
    const admin = iam.issueRoleSession(ADMIN_ROLE, 'admin');
    for (const [operation, body] of requests) {
      const plan = await planDynamoDbAccess(operation, body, async () => keys);
      if (plan.kind !== 'authorize') throw new Error(`${operation} was not planned`);
      for (const check of plan.checks) {
        expect(await iam.authorize(admin, check), `${operation} ${check.action}`).toMatchObject({ allowed: true });
        expect((await iam.authorize(tenant1, check)).reason, `${operation} ${check.action}`).not.toMatch(/simulation failed/);
      }
    }
  });
});

describe('LocalIam.canAssume', () => {
  const tagContext = { 'sts:RoleSessionName': 'tenant-t-1', 'aws:TagKeys': ['TenantId'], 'aws:RequestTag/TenantId': 't-1' };

  it('allows the role the trust policy names to assume and tag', async () => {
    expect(await iam.canAssume(api, TENANT_ROLE, true, tagContext)).toMatchObject({ allowed: true });
  });

  it('denies a role the trust policy does not name, without an identity-policy clause', async () => {
    const other = iam.issueRoleSession(OTHER_API_ROLE, 'lambda');
    expect(await iam.canAssume(other, TENANT_ROLE, true, tagContext)).toMatchObject({
      allowed: false,
      action: 'sts:AssumeRole',
      messageSuffix: '',
    });
  });

  it('requires the caller’s identity policy to allow sts:AssumeRole even when trusted by name', async () => {
    iam.putRolePolicy(API_ROLE, 'assume-tenant', { Version: '2012-10-17', Statement: [] });
    expect(await iam.canAssume(api, TENANT_ROLE, false)).toMatchObject({
      allowed: false,
      action: 'sts:AssumeRole',
      messageSuffix: 'because no identity-based policy allows the sts:AssumeRole action',
    });
  });

  it('requires sts:TagSession in the trust policy when tags are passed', async () => {
    const restricted = 'arn:aws:iam::000000000000:role/untagged';
    iam.createRole({ name: 'untagged', arn: restricted, policies: [], trustPolicy: trustApiRole(['sts:AssumeRole']) });
    iam.putRolePolicy(API_ROLE, 'assume-any', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: '*' }],
    });
    expect((await iam.canAssume(api, restricted, false)).allowed).toBe(true);
    expect(await iam.canAssume(api, restricted, true, tagContext)).toMatchObject({ allowed: false, action: 'sts:TagSession' });
  });

  it('lets a trust policy constrain the requested tag values', async () => {
    const constrained = 'arn:aws:iam::000000000000:role/constrained';
    iam.createRole({
      name: 'constrained',
      arn: constrained,
      policies: [],
      trustPolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: API_ROLE },
            Action: ['sts:AssumeRole', 'sts:TagSession'],
            Condition: { StringLike: { 'aws:RequestTag/TenantId': 't-*' } },
          },
        ],
      },
    });
    iam.putRolePolicy(API_ROLE, 'assume-any', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: '*' }],
    });
    expect((await iam.canAssume(api, constrained, true, tagContext)).allowed).toBe(true);
    const foreign = { ...tagContext, 'aws:RequestTag/TenantId': 'x-1' };
    expect((await iam.canAssume(api, constrained, true, foreign)).allowed).toBe(false);
  });

  it('denies a role that does not exist', async () => {
    expect((await iam.canAssume(api, 'arn:aws:iam::000000000000:role/missing', false)).allowed).toBe(false);
  });
});
