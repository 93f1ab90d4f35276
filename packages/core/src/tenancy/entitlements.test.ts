import { describe, expect, it } from 'vitest';
import { EntitlementOverrides, currentEntitlements, requireFeature, requireRole, resolveEntitlements } from './entitlements.js';
import { FeatureNotEntitled, RoleRequired } from '../shared/errors.js';
import { withTenant, type TenantContext } from './tenant-context.js';
import { TIERS, type Feature, type TierName } from './tiers.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function tenant(overrides: Partial<TenantContext> = {}): TenantContext {
  return {
    tenantId: 'acme-x1',
    tier: 'basic',
    cellId: 'cell-1',
    userId: 'user-1',
    username: 'alice@example.com',
    roles: ['member'],
    overrides: {},
    ...overrides,
  };
}

/** Runs `fn` and returns what it threw (failing the test if it threw nothing). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('resolveEntitlements', () => {
  // DESIGN §2, features column.
  it.each<[TierName, Feature[]]>([
    ['basic', ['cases', 'notes']],
    ['standard', ['cases', 'notes', 'evidence', 'export']],
    ['premium', ['cases', 'notes', 'evidence', 'export', 'analytics', 'audit-log']],
    ['enterprise', ['cases', 'notes', 'evidence', 'export', 'analytics', 'audit-log']],
  ])('gives the %s tier exactly the features of its plan', (tier, features) => {
    expect(resolveEntitlements(tier).features).toEqual(features);
  });

  it.each<[TierName, number | null, number | null]>([
    ['basic', 1_000, 5],
    ['standard', 25_000, 50],
    ['premium', 250_000, 500],
    ['enterprise', null, null],
  ])('gives the %s tier its case and user limits (null = unlimited)', (tier, maxActiveCases, maxUsers) => {
    expect(resolveEntitlements(tier).limits).toMatchObject({ maxActiveCases, maxUsers });
  });

  it.each<[TierName, number, number | null]>([
    ['basic', 0, 0],
    ['standard', 25 * MiB, 10 * GiB],
    ['premium', 100 * MiB, 100 * GiB],
    ['enterprise', 2 * GiB, null],
  ])('gives the %s tier its evidence limits: largest file and total bytes (null = unlimited)', (tier, maxEvidenceFileBytes, maxEvidenceBytes) => {
    expect(resolveEntitlements(tier).limits).toMatchObject({ maxEvidenceFileBytes, maxEvidenceBytes });
  });

  it('overrides the evidence limits like the others', () => {
    expect(resolveEntitlements('standard', { limits: { maxEvidenceBytes: 1_000, maxEvidenceFileBytes: 10 } }).limits).toMatchObject({
      maxEvidenceBytes: 1_000,
      maxEvidenceFileBytes: 10,
    });
    expect(resolveEntitlements('premium', { limits: { maxEvidenceBytes: null } }).limits.maxEvidenceBytes).toBeNull();
  });

  it('grants a feature the tier lacks', () => {
    expect(resolveEntitlements('basic', { features: { grant: ['export'] } }).features).toEqual(['cases', 'notes', 'export']);
  });

  it('revokes a feature the tier includes', () => {
    expect(resolveEntitlements('standard', { features: { revoke: ['evidence'] } }).features).toEqual(['cases', 'notes', 'export']);
  });

  it('lets a revoke win over a grant of the same feature', () => {
    expect(resolveEntitlements('basic', { features: { grant: ['analytics'], revoke: ['analytics'] } }).features).toEqual(['cases', 'notes']);
  });

  it('lists features in one stable order whatever order the overrides use', () => {
    expect(resolveEntitlements('basic', { features: { grant: ['audit-log', 'evidence'] } }).features).toEqual(['cases', 'notes', 'evidence', 'audit-log']);
  });

  it('overrides a limit with a number', () => {
    expect(resolveEntitlements('basic', { limits: { maxActiveCases: 5_000 } }).limits).toMatchObject({ maxActiveCases: 5_000, maxUsers: 5 });
    expect(resolveEntitlements('enterprise', { limits: { maxUsers: 10 } }).limits).toMatchObject({ maxActiveCases: null, maxUsers: 10 });
  });

  it('makes a limit unlimited when the override is null', () => {
    expect(resolveEntitlements('basic', { limits: { maxActiveCases: null, maxUsers: null } }).limits).toMatchObject({
      maxActiveCases: null,
      maxUsers: null,
    });
  });

  it('keeps the tier limit when the override leaves it out', () => {
    expect(resolveEntitlements('standard', { limits: {} }).limits).toEqual(TIERS.standard.limits);
  });

  it("never changes the tier table itself, so one tenant's override cannot leak to another", () => {
    resolveEntitlements('basic', { features: { grant: ['export'], revoke: ['notes'] }, limits: { maxActiveCases: null, maxUsers: 99 } }).limits.maxUsers = 7;
    expect(TIERS.basic.limits).toEqual({ maxActiveCases: 1_000, maxUsers: 5, maxEvidenceFileBytes: 0, maxEvidenceBytes: 0 });
    expect(TIERS.basic.features).toEqual(['cases', 'notes']);
    expect(resolveEntitlements('basic')).toEqual({
      features: ['cases', 'notes'],
      limits: { maxActiveCases: 1_000, maxUsers: 5, maxEvidenceFileBytes: 0, maxEvidenceBytes: 0 },
    });
  });
});

describe('EntitlementOverrides', () => {
  it('accepts grants, revokes and null limits', () => {
    expect(EntitlementOverrides.safeParse({ features: { grant: ['export'], revoke: ['notes'] }, limits: { maxActiveCases: null, maxUsers: 3 } }).success).toBe(true);
  });

  it.each([
    ['an unknown feature', { features: { grant: ['teleport'] } }],
    ['an unknown field', { features: { grant: ['export'] }, discount: 50 }],
    ['a negative case limit', { limits: { maxActiveCases: -1 } }],
    ['a zero user limit (the admin is a user)', { limits: { maxUsers: 0 } }],
    ['a fractional limit', { limits: { maxActiveCases: 1.5 } }],
    ['an unlimited file size (an export volume holds at most 2 GiB)', { limits: { maxEvidenceFileBytes: null } }],
    ['a file size over 2 GiB', { limits: { maxEvidenceFileBytes: 2 * GiB + 1 } }],
    ['a negative evidence total', { limits: { maxEvidenceBytes: -1 } }],
  ])('rejects %s', (_label, value) => {
    expect(EntitlementOverrides.safeParse(value).success).toBe(false);
  });
});

describe('requireFeature', () => {
  it('lets a tenant use a feature of its plan', () => {
    expect(() => withTenant(tenant({ tier: 'standard' }), () => requireFeature('export'))).not.toThrow();
  });

  it('throws FeatureNotEntitled for a feature outside the plan', () => {
    const error = thrownBy(() => withTenant(tenant({ tier: 'basic' }), () => requireFeature('export')));
    expect(error).toBeInstanceOf(FeatureNotEntitled);
    expect((error as FeatureNotEntitled).code).toBe('FEATURE_NOT_ENTITLED');
    expect((error as FeatureNotEntitled).message).toContain('"export"');
  });

  it("honours the tenant's granted override", () => {
    const granted = tenant({ tier: 'basic', overrides: { features: { grant: ['export'] } } });
    expect(() => withTenant(granted, () => requireFeature('export'))).not.toThrow();
  });

  it("honours the tenant's revoked override, even on enterprise", () => {
    const revoked = tenant({ tier: 'enterprise', overrides: { features: { revoke: ['analytics'] } } });
    expect(thrownBy(() => withTenant(revoked, () => requireFeature('analytics')))).toBeInstanceOf(FeatureNotEntitled);
  });

  it("reads the current tenant's entitlements, not another's", () => {
    expect(withTenant(tenant({ tier: 'premium' }), () => currentEntitlements().features)).toContain('analytics');
    expect(withTenant(tenant({ tier: 'basic' }), () => currentEntitlements().features)).not.toContain('analytics');
  });
});

describe('requireRole', () => {
  it('passes when the caller has the role', () => {
    expect(() => withTenant(tenant({ roles: ['member', 'admin'] }), () => requireRole('admin'))).not.toThrow();
  });

  it('throws RoleRequired (code FORBIDDEN) when the caller lacks the role', () => {
    const error = thrownBy(() => withTenant(tenant({ roles: ['member'] }), () => requireRole('admin')));
    expect(error).toBeInstanceOf(RoleRequired);
    expect((error as RoleRequired).code).toBe('FORBIDDEN');
    expect((error as RoleRequired).message).toContain('"admin"');
  });

  it('does not treat a role name as a prefix or pattern', () => {
    expect(thrownBy(() => withTenant(tenant({ roles: ['administrator', 'admin-readonly'] }), () => requireRole('admin')))).toBeInstanceOf(RoleRequired);
  });
});
