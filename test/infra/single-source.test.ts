import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as Cell from '@cellbook/core/cells/cell';
import { infraFixture, type InfraFixture } from './support/app.js';

/**
 * The stacks hold no business rules: tiers, the authorizer cache TTL, key formats and the tenant
 * policy come from core. This file changes them in core (module mocks, so the stacks' own imports
 * see the change) and shows the synthesized infrastructure follows. A stack that had copied a
 * number or a key prefix would still synthesize the original and fail here.
 */
vi.mock('@cellbook/core/tenancy/tiers', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@cellbook/core/tenancy/tiers')>();
  return {
    ...actual,
    AUTHORIZER_CACHE_TTL_SECONDS: 45,
    TIERS: {
      ...actual.TIERS,
      standard: { ...actual.TIERS.standard, throttle: { rateLimit: 75, burstLimit: 150 } },
      enterprise: { ...actual.TIERS.enterprise, quota: { limit: 5_000_000, period: 'DAY' } },
    },
  };
});

vi.mock('@cellbook/core/keys/keys', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@cellbook/core/keys/keys')>();
  return { ...actual, cellRecordKey: (cellId: string) => ({ PK: `CATALOG#${cellId}`, SK: 'CELL' }) };
});

vi.mock('@cellbook/core/access/tenant-access-policy', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@cellbook/core/access/tenant-access-policy')>();
  return {
    ...actual,
    tenantAccessPolicy: (input: Parameters<typeof actual.tenantAccessPolicy>[0]) => {
      const document = actual.tenantAccessPolicy(input);
      return { ...document, Statement: [{ ...document.Statement[0], Sid: 'ChangedInCore' }] };
    },
  };
});

let infra: InfraFixture;
beforeAll(async () => {
  infra = await infraFixture();
});

describe.each(Cell.CELL_CATALOG.map((cell) => cell.cellId))('cell %s, after core changed', (cellId) => {
  const stack = () => infra.cells.get(cellId)!;
  const plan = (tier: string) =>
    infra.resources(stack(), 'AWS::ApiGateway::UsagePlan').find((candidate) => candidate.properties.UsagePlanName === `${infra.stage}-cellbook-${cellId}-${tier}`)!.properties;

  it("throttles the standard plan at the tier table's new rate and burst", () => {
    expect(plan('standard').Throttle).toEqual({ RateLimit: 75, BurstLimit: 150 });
    // Untouched tiers keep the real table's numbers.
    expect(plan('basic').Throttle).toEqual({ RateLimit: 10, BurstLimit: 20 });
  });

  it('gives the enterprise plan the quota the tier table now sets', () => {
    expect(plan('enterprise').Quota).toEqual({ Limit: 5_000_000, Period: 'DAY' });
  });

  it("caches authorizer decisions for core's new TTL", () => {
    const [authorizer] = infra.resources(stack(), 'AWS::ApiGateway::Authorizer');
    expect(authorizer!.properties.AuthorizerResultTtlInSeconds).toBe(45);
  });

  it("gives the tenant access role the document core's policy builder now returns", () => {
    const role = infra.role(stack(), 'TenantAccessRole');
    expect((role.policies[0]!.policy.Statement as { Sid: string }[])[0]!.Sid).toBe('ChangedInCore');
  });

  it("fences the cell registrar with core's new catalog key format", () => {
    const role = infra.role(stack(), 'CellRegistrarRole');
    // biome-ignore lint/suspicious/noExplicitAny: test ergonomics — an IAM document or JSON body read field by field at any depth, where a missing field fails the assertion anyway.
    const statements = role.policies.flatMap((policy) => policy.policy.Statement as Record<string, any>[]);
    const own = statements.find((statement) => statement.Sid === 'OwnCatalogEntryOnly')!;
    expect(own.Condition['ForAllValues:StringEquals']['dynamodb:LeadingKeys']).toEqual([`CATALOG#${cellId}`]);
  });
});
