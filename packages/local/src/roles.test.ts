import { describe, expect, it } from 'vitest';
import { TENANT_TAG_KEY, tenantAccessTrustPolicy } from '@cellbook/core';
import { LocalIam } from './aws/local-iam.js';
import { cellRoles, controlRoleArn } from './roles.js';

/**
 * The local tenant access role must trust exactly what the stack's does (issue 12 item 7): the
 * cell's API functions and the control plane, each only with exactly one non-empty TenantId tag.
 */
const PREFIX = 'cellbook-local';
const roles = cellRoles({
  prefix: PREFIX,
  cellId: 'cell-1',
  tableName: `${PREFIX}-cell-1`,
  tenantsTable: `${PREFIX}-tenants`,
  controlApiStageArn: 'arn:aws:execute-api:us-east-1:000000000000:abcdef1234/local',
  controlRoleArn: controlRoleArn(PREFIX),
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
    expect(roles.tenantAccess.trustPolicy).toEqual(tenantAccessTrustPolicy({ principalArns: [roles.api.arn, controlRoleArn(PREFIX)] }));
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
