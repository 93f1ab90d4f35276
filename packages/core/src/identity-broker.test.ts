import { describe, expect, it } from 'vitest';
import { BROKER_USER_PATH, BROKER_USERS_PATH, InviteInput, identityBrokerInvokePolicy, tenantSessionName } from './identity-broker.js';

const STAGE = 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod';

describe('what a tenant session may invoke on the control plane', () => {
  const [statement] = identityBrokerInvokePolicy({ apiStageArn: STAGE }).Statement;

  it('is only the broker user routes of the tenant its TenantId tag names', () => {
    expect(statement.Effect).toBe('Allow');
    expect(statement.Action).toBe('execute-api:Invoke');
    expect(statement.Resource).toEqual([
      `${STAGE}/POST/broker/tenants/\${aws:PrincipalTag/TenantId}/users`,
      `${STAGE}/DELETE/broker/tenants/\${aws:PrincipalTag/TenantId}/users/*`,
    ]);
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
