import { beforeAll, describe, expect, it } from 'vitest';
import * as Cell from '@cellbook/core/cells/cell';
import * as IdentityBroker from '@cellbook/core/users/identity-broker';
import * as UsageBroker from '@cellbook/core/metering/usage-broker';
import * as Keys from '@cellbook/core/keys/keys';
import { TENANT_TAG_KEY, tenantAccessPolicy, tenantSessionConditions } from '@cellbook/core/access/tenant-access-policy';
import type { InfraFixture } from '../support/app.js';
import { asCaller, decide, mayAssume, overPrivileged, type AccessRequest, type Decision, type RoleUnderTest } from '../support/iam.js';

/**
 * The second line of defence (DESIGN §3), proven on the synthesized templates with intrinsics
 * resolved: IAM documents exactly as CloudFormation would create them, evaluated by an independent
 * IAM simulator. Keys are built by core's key module, as the handlers build them.
 */
const CASE_ID = '01HZY3J7Q8X2M4N6P8R0S2T4V6';
const NOTE_ID = '01HZY3K0A1B2C3D4E5F6G7H8J9';

/** Every partition key a tenant's own requests touch, built by core's key module. */
function ownPartitions(tenantId: string): string[] {
  return [Keys.caseKey(tenantId, CASE_ID).PK, Keys.noteKey(tenantId, CASE_ID, NOTE_ID).PK, Keys.tenantMetaKey(tenantId).PK, Keys.tenantUsersPartition(tenantId)];
}

const ITEM_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'];
const BATCH_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'];
/** Every DynamoDB action that reads or writes items. */
const DATA_ACTIONS = [
  ...ITEM_ACTIONS,
  ...BATCH_ACTIONS,
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:PartiQLSelect',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
];

const tagged = (tenantId: string) => ({ [TENANT_TAG_KEY]: tenantId });

/** The control-plane roles that work on one tenant's cell items, through each cell's tenant access role. */
const TENANT_DATA_IDENTITIES = ['TenantMoverRole', 'TenantOffboardingRole', 'TenantExportRole', 'UsageSnapshotRole'];
const leading = (keys: string[]) => ({ 'dynamodb:LeadingKeys': keys });

let infra: InfraFixture;

/** Every user-directory action that reads, changes or administers users, groups or the pool. */
const COGNITO_ACTIONS = [
  'AdminCreateUser',
  'AdminAddUserToGroup',
  'AdminRemoveUserFromGroup',
  'AdminDeleteUser',
  'AdminGetUser',
  'AdminSetUserPassword',
  'AdminResetUserPassword',
  'AdminUpdateUserAttributes',
  'AdminDisableUser',
  'AdminEnableUser',
  'AdminUserGlobalSignOut',
  'AdminInitiateAuth',
  'ListUsers',
  'ListUsersInGroup',
  'CreateGroup',
  'UpdateUserPool',
  'DeleteUserPool',
  'CreateUserPoolClient',
].map((action) => `cognito-idp:${action}`);

/** Both directories: the tenant pool and the operator pool. */
const directories = () => [infra.arn(infra.controlPlane, 'UserPool'), infra.arn(infra.controlPlane, 'OperatorPool')];

/** `arn:aws:execute-api:…:<control api>/<stage>/<METHOD><path>` */
const controlApiMethod = (method: string, path: string) => {
  const { account, region } = infra.resolver.env;
  return `arn:aws:execute-api:${region}:${account}:${infra.ref(infra.controlPlane, 'ControlApi/Api')}/${infra.stage}/${method}${path}`;
};
const invoke = (method: string, path: string): AccessRequest => ({ action: 'execute-api:Invoke', resource: controlApiMethod(method, path) });

/** Runs every request and returns the ones whose decision differs from `expected`, for a readable diff. */
async function mismatches(role: RoleUnderTest, requests: AccessRequest[], expected: 'Allowed' | 'Denied', sessionTags: Record<string, string> = {}): Promise<string[]> {
  const wrong: string[] = [];
  for (const request of requests) {
    const decision: Decision = await decide(infra.resolver, role, request, sessionTags);
    const ok = expected === 'Allowed' ? decision === 'Allowed' : decision !== 'Allowed';
    if (!ok) wrong.push(`${request.action} ${request.resource} ${JSON.stringify(request.context ?? {})} → ${decision}`);
  }
  return wrong;
}

export function isolationSuite(fixture: () => InfraFixture): void {
  beforeAll(() => {
    infra = fixture();
  });

  describe.each(Cell.CELL_CATALOG.map((cell) => cell.cellId))('tenant isolation in %s', (cellId) => {
    let tenantRole: RoleUnderTest;
    let table: string;
    let gsi1: string;

    beforeAll(() => {
      const stack = infra.cells.get(cellId)!;
      tenantRole = infra.role(stack, 'TenantAccessRole');
      table = infra.arn(stack, `${cellId}/Table`);
      gsi1 = `${table}/index/GSI1`;
    });

    it("gives the tenant access role exactly the policies core's builders produce: this table's items, and the broker's paths", () => {
      const controlApiId = infra.ref(infra.controlPlane, 'ControlApi/Api');
      const { account, region } = infra.resolver.env;
      expect(Object.fromEntries(tenantRole.policies.map((policy) => [policy.name, policy.policy]))).toEqual({
        'tenant-items-and-objects-only': tenantAccessPolicy({ tableArn: table, bucketArn: infra.arn(infra.cells.get(cellId)!, `${cellId}-evidence`) }),
        'own-tenant-users-through-broker': IdentityBroker.identityBrokerInvokePolicy({
          apiStageArn: `arn:aws:execute-api:${region}:${account}:${controlApiId}/${infra.stage}`,
        }),
        'own-tenant-usage-through-broker': UsageBroker.usageBrokerInvokePolicy({
          apiStageArn: `arn:aws:execute-api:${region}:${account}:${controlApiId}/${infra.stage}`,
        }),
      });
    });

    it("trusts tenant sessions only on the conditions core's builder produces, the ones the local role uses", () => {
      const statements = tenantRole.trustPolicy.Statement as Record<string, unknown>[];
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) {
        expect(statement.Condition).toEqual(tenantSessionConditions());
        expect(statement.Action).toEqual(['sts:AssumeRole', 'sts:TagSession']);
      }
    });

    it('lets a t-1 session get, put, update, delete and condition-check its own items', async () => {
      const requests = ITEM_ACTIONS.flatMap((action) => ownPartitions('t-1').map((key) => ({ action, resource: table, context: leading([key]) })));
      expect(await mismatches(tenantRole, requests, 'Allowed', tagged('t-1'))).toEqual([]);
    });

    it('lets a t-1 session query its own partitions and its GSI1 listing partition', async () => {
      const requests = [
        ...ownPartitions('t-1').map((key) => ({ action: 'dynamodb:Query', resource: table, context: leading([key]) })),
        { action: 'dynamodb:Query', resource: gsi1, context: leading([Keys.caseListingPartition('t-1')]) },
      ];
      expect(await mismatches(tenantRole, requests, 'Allowed', tagged('t-1'))).toEqual([]);
    });

    it('lets a t-1 session batch over its own keys', async () => {
      const requests = BATCH_ACTIONS.map((action) => ({ action, resource: table, context: leading(ownPartitions('t-1')) }));
      expect(await mismatches(tenantRole, requests, 'Allowed', tagged('t-1'))).toEqual([]);
    });

    it.each([
      { other: 't-2', what: 'every item of t-2, on the table and on GSI1' },
      { other: 't-10', what: 'the items of t-10: the # after the tenant id is what keeps them apart' },
    ])('denies a t-1 session $what', async ({ other }) => {
      const requests = [
        ...[...ITEM_ACTIONS, ...BATCH_ACTIONS, 'dynamodb:Query'].flatMap((action) =>
          ownPartitions(other).map((key) => ({ action, resource: table, context: leading([key]) })),
        ),
        { action: 'dynamodb:Query', resource: gsi1, context: leading([Keys.caseListingPartition(other)]) },
      ];
      expect(await mismatches(tenantRole, requests, 'Denied', tagged('t-1'))).toEqual([]);
    });

    it('denies Scan of the table and of GSI1, for any session', async () => {
      const requests = [table, gsi1].map((resource) => ({ action: 'dynamodb:Scan', resource }));
      expect(await mismatches(tenantRole, requests, 'Denied', tagged('t-1'))).toEqual([]);
      expect(await mismatches(tenantRole, requests, 'Denied')).toEqual([]);
    });

    it('denies a batch that mixes t-1 keys with one key of t-2', async () => {
      const mixed = leading([...ownPartitions('t-1'), Keys.caseKey('t-2', CASE_ID).PK]);
      const requests = BATCH_ACTIONS.map((action) => ({ action, resource: table, context: mixed }));
      expect(await mismatches(tenantRole, requests, 'Denied', tagged('t-1'))).toEqual([]);
    });

    it('denies a session without a TenantId tag, whatever keys it names', async () => {
      const requests = ITEM_ACTIONS.flatMap((action) =>
        [['TENANT#'], ['TENANT##CASE#x'], ownPartitions('t-1')].map((keys) => ({ action, resource: table, context: leading(keys) })),
      );
      expect(await mismatches(tenantRole, requests, 'Denied')).toEqual([]);
    });

    it('denies PartiQL, table management and streams even on its own keys', async () => {
      const own = leading(ownPartitions('t-1'));
      const requests = [
        ...['dynamodb:PartiQLSelect', 'dynamodb:PartiQLInsert', 'dynamodb:PartiQLUpdate', 'dynamodb:PartiQLDelete'].map((action) => ({
          action,
          resource: table,
          context: own,
        })),
        ...['dynamodb:DeleteTable', 'dynamodb:UpdateTable', 'dynamodb:DescribeTable', 'dynamodb:ExportTableToPointInTime'].map((action) => ({
          action,
          resource: table,
        })),
        { action: 'dynamodb:GetRecords', resource: `${table}/stream/2025-01-01T00:00:00.000` },
      ];
      expect(await mismatches(tenantRole, requests, 'Denied', tagged('t-1'))).toEqual([]);
    });

    it("reaches no other cell's table, even with its own keys", async () => {
      const others = [...infra.cells.entries()].filter(([id]) => id !== cellId);
      const requests = others.flatMap(([otherId, stack]) => {
        const otherTable = infra.arn(stack, `${otherId}/Table`);
        return ITEM_ACTIONS.map((action) => ({ action, resource: otherTable, context: leading(ownPartitions('t-1')) }));
      });
      expect(requests.length).toBeGreaterThan(0);
      expect(await mismatches(tenantRole, requests, 'Denied', tagged('t-1'))).toEqual([]);
    });

    it("denies every data-plane function role every data action on any cell's table", async () => {
      const stack = infra.cells.get(cellId)!;
      const functionRoles = functionRolesOf(stack.stackName);
      // The API handlers, the authorizer, the registrar and SST's deploy-time handler.
      expect(functionRoles.length).toBeGreaterThanOrEqual(4);
      const tables = [...infra.cells.entries()].map(([id, cellStack]) => infra.arn(cellStack, `${id}/Table`));
      const requests = tables.flatMap((cellTable) =>
        DATA_ACTIONS.flatMap((action) => [
          { action, resource: cellTable, context: leading(ownPartitions('t-1')) },
          { action, resource: `${cellTable}/index/GSI1`, context: leading([Keys.caseListingPartition('t-1')]) },
          { action, resource: cellTable },
        ]),
      );
      for (const role of functionRoles) {
        expect(await mismatches(role, requests, 'Denied'), role.logicalId).toEqual([]);
      }
    });

    it("lets only this cell's API functions and the control plane's mover, offboarding, export and usage snapshot assume the tenant role, and only tagged with one tenant", async () => {
      const stack = infra.cells.get(cellId)!;
      const { account } = infra.resolver.env;
      const intended = [infra.role(stack, 'ApiFunctionRole'), ...TENANT_DATA_IDENTITIES.map((path) => infra.role(infra.controlPlane, path))];
      for (const role of intended) {
        // With their own policies, as deployed: each holds AssumeRole + TagSession on this role.
        expect(await mayAssume(infra.resolver, asCaller(role, account), tenantRole, tagged('t-1')), role.logicalId).toBe(true);
        // No tag, an empty tenant, or an extra tag: refused by the trust policy.
        expect(await mayAssume(infra.resolver, asCaller(role, account), tenantRole, {}), role.logicalId).toBe(false);
        expect(await mayAssume(infra.resolver, asCaller(role, account), tenantRole, tagged('')), role.logicalId).toBe(false);
        expect(await mayAssume(infra.resolver, asCaller(role, account), tenantRole, { ...tagged('t-1'), Role: 'admin' }), role.logicalId).toBe(false);
        // The same refusals hold for an over-privileged session of the role: the trust policy decides.
        const unbounded = overPrivileged({ arn: role.arn, name: role.name, account });
        expect(await mayAssume(infra.resolver, unbounded, tenantRole, {}), role.logicalId).toBe(false);
        expect(await mayAssume(infra.resolver, unbounded, tenantRole, { ...tagged('t-1'), Role: 'admin' }), role.logicalId).toBe(false);
      }

      // Every other role of the app, even if its own policies allowed all of STS: the onboarding
      // worker (it seeds with its own narrow grant), the other cells' API functions, the public
      // health check, the move requests, the routing map writer, …
      const intendedArns = new Set(intended.map((role) => role.arn));
      const others = infra.roles.filter((role) => !intendedArns.has(role.arn));
      expect(others.length).toBeGreaterThan(10);
      const admitted: string[] = [];
      for (const other of others) {
        if (await mayAssume(infra.resolver, overPrivileged({ arn: other.arn, name: other.name, account }), tenantRole, tagged('t-1'))) {
          admitted.push(`${other.stack}/${other.logicalId}`);
        }
      }
      expect(admitted).toEqual([]);
      // Nor the account root, nor a role of another account with the same name.
      const root = overPrivileged({ arn: `arn:aws:iam::${account}:root`, name: 'root', account });
      expect(await mayAssume(infra.resolver, root, tenantRole, tagged('t-1'))).toBe(false);
      for (const role of intended) {
        const foreign = overPrivileged({ arn: role.arn.replace(account, '210987654321'), name: role.name, account: '210987654321' });
        expect(await mayAssume(infra.resolver, foreign, tenantRole, tagged('t-1')), role.logicalId).toBe(false);
      }
    });
  });

  describe('the identity boundary (DESIGN §13)', () => {
    it('gives no role of any cell any user-directory action, on the tenant pool or the operator pool', async () => {
      const requests = directories().flatMap((pool) => [
        ...COGNITO_ACTIONS.map((action) => ({ action, resource: pool })),
        { action: 'cognito-idp:AdminCreateUser', resource: '*' },
      ]);
      const cellRoles = [...infra.cells.values()].flatMap((stack) => infra.roles.filter((role) => role.stack === stack.stackName));
      // API, authorizer, public route, registrar, tenant access and SST's handler, in each cell.
      expect(cellRoles.length).toBeGreaterThanOrEqual(5 * infra.cells.size);
      for (const role of cellRoles) {
        expect(await mismatches(role, requests, 'Denied'), `${role.stack}/${role.logicalId}`).toEqual([]);
        expect(await mismatches(role, requests, 'Denied', tagged('t-1')), `${role.stack}/${role.logicalId} tagged`).toEqual([]);
      }
    });

    it('gives no role of the whole app any action on the operator directory', async () => {
      const [, operatorPool] = directories();
      const requests = COGNITO_ACTIONS.map((action) => ({ action, resource: operatorPool! }));
      for (const role of infra.roles) expect(await mismatches(role, requests, 'Denied'), `${role.stack}/${role.logicalId}`).toEqual([]);
    });

    it("lets only the identity broker, onboarding and the release driver (its probe tenants' admins) create tenant users, and only in the tenant pool", async () => {
      const [tenantPool] = directories();
      const create = [{ action: 'cognito-idp:AdminCreateUser', resource: tenantPool! }];
      const allowed: string[] = [];
      for (const role of infra.roles) if ((await mismatches(role, create, 'Denied')).length > 0) allowed.push(role.logicalId);
      const expected = ['IdentityBrokerRole', 'OnboardingWorkerRole', 'ReleaseDriverRole'].map((path) => infra.role(infra.controlPlane, path).logicalId);
      expect(allowed.sort()).toEqual(expected.sort());
    });

    describe.each(Cell.CELL_CATALOG.map((cell) => cell.cellId))('a tenant session of %s', (cellId) => {
      let tenantRole: RoleUnderTest;
      beforeAll(() => {
        tenantRole = infra.role(infra.cells.get(cellId)!, 'TenantAccessRole');
      });

      it('may invite and remove users of its own tenant through the broker (the control for the denials below)', async () => {
        const own = [
          invoke('POST', '/broker/tenants/t-1/users'),
          invoke('DELETE', '/broker/tenants/t-1/users/agent%40example.com'),
          invoke('GET', '/broker/tenants/t-1/usage'),
        ];
        expect(await mismatches(tenantRole, own, 'Allowed', tagged('t-1'))).toEqual([]);
      });

      it('may not invoke the broker for another tenant, a tenant whose id merely starts with its own, or any other control route', async () => {
        const others = [
          invoke('POST', '/broker/tenants/t-2/users'),
          invoke('DELETE', '/broker/tenants/t-2/users/admin%40example.com'),
          invoke('POST', '/broker/tenants/t-10/users'),
          invoke('DELETE', '/broker/tenants/t-10/users/x'),
          invoke('POST', '/broker/tenants/t-1/users/extra'),
          invoke('GET', '/broker/tenants/t-2/usage'),
          invoke('GET', '/broker/tenants/t-10/usage'),
          invoke('POST', '/broker/tenants/t-1/usage'),
          invoke('GET', '/admin/tenants/t-1/usage'),
          invoke('GET', '/admin/usage'),
          invoke('POST', '/admin/tenants'),
          invoke('POST', '/admin/tenants/t-1/suspend'),
          invoke('GET', '/admin/tenants'),
        ];
        expect(await mismatches(tenantRole, others, 'Denied', tagged('t-1'))).toEqual([]);
        // A session without a tenant tag reaches nothing at all.
        expect(await mismatches(tenantRole, [invoke('POST', '/broker/tenants/t-1/users')], 'Denied')).toEqual([]);
      });

      it("lets the cell's function roles themselves invoke nothing on the control plane", async () => {
        const stack = infra.cells.get(cellId)!;
        const requests = [invoke('POST', '/broker/tenants/t-1/users'), invoke('DELETE', '/broker/tenants/t-1/users/x'), invoke('POST', '/admin/tenants')];
        for (const role of functionRolesOf(stack.stackName)) expect(await mismatches(role, requests, 'Denied', tagged('t-1')), role.logicalId).toEqual([]);
      });
    });
  });

  describe('the proofs can fail', () => {
    it('would let a cell function create users if its role still held the old invitation grant', async () => {
      const stack = infra.cells.get(Cell.CELL_CATALOG[0]!.cellId)!;
      const apiRole = structuredClone(infra.role(stack, 'ApiFunctionRole'));
      const [tenantPool] = directories();
      apiRole.policies.push({
        name: 'old-invite-grant',
        policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['cognito-idp:AdminCreateUser', 'cognito-idp:AdminAddUserToGroup'], Resource: tenantPool }] },
      });
      expect(await decide(infra.resolver, apiRole, { action: 'cognito-idp:AdminCreateUser', resource: tenantPool! })).toBe('Allowed');
    });

    it("would let a tenant session invoke another tenant's broker path if the path were not fenced by its tag", async () => {
      const stack = infra.cells.get(Cell.CELL_CATALOG[0]!.cellId)!;
      const loosened = structuredClone(infra.role(stack, 'TenantAccessRole'));
      const broker = loosened.policies.find((policy) => policy.name === 'own-tenant-users-through-broker')!;
      // biome-ignore lint/suspicious/noExplicitAny: test ergonomics — an IAM document or JSON body read field by field at any depth, where a missing field fails the assertion anyway.
      const statement = (broker.policy.Statement as Record<string, any>[])[0]!;
      statement.Resource = (statement.Resource as string[]).map((resource) => resource.replace(`\${aws:PrincipalTag/${TENANT_TAG_KEY}}`, '*'));
      const request = invoke('POST', '/broker/tenants/t-2/users');
      expect(await decide(infra.resolver, loosened, request, tagged('t-1'))).toBe('Allowed');
      expect(await decide(infra.resolver, infra.role(stack, 'TenantAccessRole'), request, tagged('t-1'))).not.toBe('Allowed');
    });

    // Guards against a simulator (or a resolver) that denies everything: the denials above would then
    // prove nothing. Each case flips one thing the real documents get right and expects an allow.
    it('would let t-1 read t-10 if the leading-key pattern dropped the # delimiter', async () => {
      const stack = infra.cells.get(Cell.CELL_CATALOG[0]!.cellId)!;
      const tenantRole = infra.role(stack, 'TenantAccessRole');
      const table = infra.arn(stack, `${Cell.CELL_CATALOG[0]!.cellId}/Table`);
      const loosened = structuredClone(tenantRole);
      // biome-ignore lint/suspicious/noExplicitAny: test ergonomics — an IAM document or JSON body read field by field at any depth, where a missing field fails the assertion anyway.
      const statement = (loosened.policies[0]!.policy.Statement as Record<string, any>[])[0]!;
      statement.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys'] = [`TENANT#\${aws:PrincipalTag/${TENANT_TAG_KEY}}*`];
      const request = { action: 'dynamodb:GetItem', resource: table, context: leading([Keys.caseKey('t-10', CASE_ID).PK]) };
      expect(await decide(infra.resolver, loosened, request, tagged('t-1'))).toBe('Allowed');
      expect(await decide(infra.resolver, tenantRole, request, tagged('t-1'))).not.toBe('Allowed');
    });

    it('would let any over-privileged role in if the trust policy named the account', async () => {
      const stack = infra.cells.get(Cell.CELL_CATALOG[0]!.cellId)!;
      const tenantRole = infra.role(stack, 'TenantAccessRole');
      const authorizerRole = infra.role(stack, 'AuthorizerFunctionRole');
      const { account } = infra.resolver.env;
      const open = structuredClone(tenantRole);
      // biome-ignore lint/suspicious/noExplicitAny: test ergonomics — an IAM document or JSON body read field by field at any depth, where a missing field fails the assertion anyway.
      (open.trustPolicy.Statement as Record<string, any>[])[0]!.Principal = { AWS: `arn:aws:iam::${account}:root` };
      const caller = overPrivileged({ arn: authorizerRole.arn, name: authorizerRole.name, account });
      expect(await mayAssume(infra.resolver, caller, open, tagged('t-1'))).toBe(true);
      expect(await mayAssume(infra.resolver, caller, tenantRole, tagged('t-1'))).toBe(false);
    });
  });
}

/** The execution roles of every Lambda function in a stack, as the template wires them. */
function functionRolesOf(stackName: string): RoleUnderTest[] {
  const template = infra.resolver.template(stackName);
  const arns = new Set(
    Object.values(template.Resources)
      .filter((resource) => resource.Type === 'AWS::Lambda::Function')
      .map((resource) => infra.resolver.resolveString(stackName, resource.Properties!.Role)),
  );
  return infra.roles.filter((role) => arns.has(role.arn));
}
