import { describe, expect, it } from 'vitest';
import { cellApiStatements, cellAuthorizerStatements, cellControlGrants } from '@cellbook/core/access/cell-grants';
import { CONTROL_IDENTITY_NAMES, TENANT_ACCESS_IDENTITIES } from '@cellbook/core/access/control-identities';
import { controlIdentityStatements } from '@cellbook/core/access/control-plane-grants';
import { TENANT_TAG_KEY, tenantAccessTrustPolicy } from '@cellbook/core/access/tenant-access-policy';
import { LocalIam } from './aws/local-iam.js';
import { cellControlPolicies, cellRoles } from './roles/cell-roles.js';
import { controlRoleArn, controlRoles } from './roles/control-roles.js';
import { tableArn } from './roles/role-definition.js';

/**
 * The local tenant access role must trust exactly what the stack's does (issue 12 item 7): the
 * cell's API functions and the control identities that work on one tenant's cell data (core's
 * TENANT_ACCESS_IDENTITIES: the mover, offboarding, export), each only with exactly one non-empty TenantId tag.
 */
const PREFIX = 'cellbook-local';
const roles = cellRoles({
  prefix: PREFIX,
  cellId: 'cell-1',
  tableName: `${PREFIX}-cell-1`,
  bucketName: `${PREFIX}-cell-1-evidence`,
  tenantsTable: `${PREFIX}-tenants`,
  controlApiStageArn: 'arn:aws:execute-api:us-east-1:000000000000:abcdef1234/local',
});

function localIam(): LocalIam {
  const iam = new LocalIam();
  iam.createRole(roles.api);
  iam.createRole(roles.tenantAccess);
  return iam;
}

/** What STS puts in the request context for these session tags (sts-endpoint.ts). */
function tagContext(tags: Record<string, string>): Record<string, string | string[]> {
  const context: Record<string, string | string[]> = {};
  if (Object.keys(tags).length > 0) context['aws:TagKeys'] = Object.keys(tags);
  for (const [key, value] of Object.entries(tags)) context[`aws:RequestTag/${key}`] = value;
  return context;
}

async function mayAssume(tags: Record<string, string>): Promise<boolean> {
  const iam = localIam();
  const apiSession = iam.issueRoleSession(roles.api.arn, 'function');
  const decision = await iam.canAssume(apiSession, roles.tenantAccess.arn, Object.keys(tags).length > 0, tagContext(tags));
  return decision.allowed;
}

describe('the local tenant access role', () => {
  it("trusts exactly the document core's builder produces, the one the Cell stack's proofs compare with", () => {
    expect(roles.tenantAccess.trustPolicy).toEqual(
      tenantAccessTrustPolicy({ principalArns: [roles.api.arn, ...TENANT_ACCESS_IDENTITIES.map((identity) => controlRoleArn(PREFIX, identity))] }),
    );
  });

  it('lets the cell open a session tagged with one tenant (the control for the refusals below)', async () => {
    expect(await mayAssume({ [TENANT_TAG_KEY]: 't-1' })).toBe(true);
  });

  it('refuses a session with no TenantId tag', async () => {
    expect(await mayAssume({})).toBe(false);
  });

  it('refuses a session with an empty TenantId tag', async () => {
    expect(await mayAssume({ [TENANT_TAG_KEY]: '' })).toBe(false);
  });

  it('refuses a session with a second tag next to the tenant', async () => {
    expect(await mayAssume({ [TENANT_TAG_KEY]: 't-1', Role: 'admin' })).toBe(false);
    expect(await mayAssume({ Tenant: 't-1' })).toBe(false);
  });
});

/**
 * The local roles hold exactly what core defines for each function role — the statements the
 * stacks render too (test/infra/function-permissions.test.ts, core's access/ modules) — and not one grant of their own.
 */
describe('the local function roles', () => {
  const input = {
    prefix: PREFIX,
    stage: 'local',
    tenantsTable: `${PREFIX}-tenants`,
    cellsTable: `${PREFIX}-cells`,
    usageTable: `${PREFIX}-usage`,
    userPoolArn: 'arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_CellbookLocal',
    eventBusArn: 'arn:aws:events:us-east-1:000000000000:event-bus/cellbook-local',
  };
  const statementsOf = (role: { policies: { document: { Statement: unknown[] } }[] }) => role.policies.flatMap((policy) => policy.document.Statement);

  it.each(CONTROL_IDENTITY_NAMES.map((identity) => [identity]))("%s holds exactly core's statements, with local ARNs", (identity) => {
    const expected = controlIdentityStatements({
      partition: 'aws',
      region: 'us-east-1',
      tenantsTableArn: tableArn(input.tenantsTable),
      cellsTableArn: tableArn(input.cellsTable),
      usageTableArn: tableArn(input.usageTable),
      userPoolArn: input.userPoolArn,
      eventBusArn: input.eventBusArn,
      routerUrlParameterArn: 'arn:aws:ssm:us-east-1:000000000000:parameter/cellbook/local/router-url',
      invitationDelivery: 'response',
    })[identity];
    expect(statementsOf(controlRoles(input)[identity])).toEqual(expected);
  });

  it("gives each cell's API and authorizer exactly core's statements", () => {
    expect(statementsOf(roles.api)).toEqual(cellApiStatements({ tenantAccessRoleArn: roles.tenantAccess.arn }));
    expect(statementsOf(roles.authorizer)).toEqual(cellAuthorizerStatements({ tenantsTableArn: tableArn(`${PREFIX}-tenants`) }));
  });

  it("puts exactly core's per-cell grants on the control roles when a cell boots", () => {
    const usagePlans = { basic: 'p1', standard: 'p2', premium: 'p3', enterprise: 'p4' } as const;
    const grants = cellControlGrants({
      partition: 'aws',
      region: 'us-east-1',
      cellTableArn: tableArn(`${PREFIX}-cell-1`),
      tenantAccessRoleArn: roles.tenantAccess.arn,
      restApiId: 'api1',
      stageName: 'local',
      usagePlanIds: usagePlans,
    });
    const policies = cellControlPolicies({
      prefix: PREFIX,
      cellId: 'cell-1',
      tableName: `${PREFIX}-cell-1`,
      tenantAccessRoleArn: roles.tenantAccess.arn,
      restApiId: 'api1',
      stage: 'local',
      usagePlans,
    });
    for (const identity of CONTROL_IDENTITY_NAMES) {
      expect(
        policies.filter((policy) => policy.identity === identity).flatMap((policy) => policy.document.Statement),
        identity,
      ).toEqual(grants[identity]);
    }
  });

  it('denies a registry reader any write, proven against the local IAM', async () => {
    const iam = new LocalIam();
    const reader = controlRoles(input)['registry-read'];
    iam.createRole(reader);
    const session = iam.issueRoleSession(reader.arn, 'function');
    const tenants = tableArn(input.tenantsTable);
    const context = { 'dynamodb:LeadingKeys': ['TENANT#t-1'] };
    expect((await iam.authorize(session, { action: 'dynamodb:GetItem', resource: tenants, context })).allowed).toBe(true);
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Scan']) {
      expect((await iam.authorize(session, { action, resource: tenants, context })).allowed, action).toBe(false);
    }
  });

  it('lets metering write the usage ledger and only read the registry, proven against the local IAM', async () => {
    const iam = new LocalIam();
    const metering = controlRoles(input).metering;
    iam.createRole(metering);
    const session = iam.issueRoleSession(metering.arn, 'function');
    const usage = tableArn(input.usageTable);
    const tenants = tableArn(input.tenantsTable);
    const context = { 'dynamodb:LeadingKeys': ['TENANT#t-1'] };
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem']) {
      expect((await iam.authorize(session, { action, resource: usage, context })).allowed, action).toBe(true);
    }
    // Counting needs no reads of the ledger: nobody's usage is read back by the role that counts it.
    for (const action of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem']) {
      expect((await iam.authorize(session, { action, resource: usage, context })).allowed, action).toBe(false);
    }
    expect((await iam.authorize(session, { action: 'dynamodb:GetItem', resource: tenants, context })).allowed).toBe(true);
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:Scan']) {
      expect((await iam.authorize(session, { action, resource: tenants, context })).allowed, action).toBe(false);
    }
    expect((await iam.authorize(session, { action: 'dynamodb:DeleteItem', resource: usage, context })).allowed).toBe(false);
    expect((await iam.authorize(session, { action: 'dynamodb:GetItem', resource: tableArn(input.cellsTable), context })).allowed).toBe(false);
  });

  it('lets the usage snapshot count in the ledger, list tenants and find cells, and touch nothing else of the control plane, proven against the local IAM', async () => {
    const iam = new LocalIam();
    const snapshot = controlRoles(input)['usage-snapshot'];
    iam.createRole(snapshot);
    const session = iam.issueRoleSession(snapshot.arn, 'function');
    const usage = tableArn(input.usageTable);
    const tenants = tableArn(input.tenantsTable);
    const context = { 'dynamodb:LeadingKeys': ['TENANT#t-1'] };
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem']) {
      expect((await iam.authorize(session, { action, resource: usage, context })).allowed, action).toBe(true);
    }
    expect((await iam.authorize(session, { action: 'dynamodb:GetItem', resource: usage, context })).allowed).toBe(false);
    expect((await iam.authorize(session, { action: 'dynamodb:Query', resource: `${tenants}/index/GSI1`, context })).allowed).toBe(true);
    expect((await iam.authorize(session, { action: 'dynamodb:GetItem', resource: tableArn(input.cellsTable), context })).allowed).toBe(true);
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query']) {
      expect((await iam.authorize(session, { action, resource: tenants, context })).allowed, action).toBe(false);
    }
    expect((await iam.authorize(session, { action: 'dynamodb:DeleteItem', resource: usage, context })).allowed).toBe(false);
    expect((await iam.authorize(session, { action: 'dynamodb:UpdateItem', resource: tableArn(input.cellsTable), context })).allowed).toBe(false);
  });

  it('lets a usage reader read the ledger and never write it, proven against the local IAM', async () => {
    const iam = new LocalIam();
    const reader = controlRoles(input)['usage-read'];
    iam.createRole(reader);
    const session = iam.issueRoleSession(reader.arn, 'function');
    const usage = tableArn(input.usageTable);
    const context = { 'dynamodb:LeadingKeys': ['TENANT#t-1'] };
    expect((await iam.authorize(session, { action: 'dynamodb:Query', resource: `${usage}/index/GSI1`, context })).allowed).toBe(true);
    expect((await iam.authorize(session, { action: 'dynamodb:GetItem', resource: usage, context })).allowed).toBe(true);
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem', 'dynamodb:Scan']) {
      expect((await iam.authorize(session, { action, resource: usage, context })).allowed, action).toBe(false);
    }
  });
});
