import type { TierName } from '@cellbook/core/tenancy/tiers';
import { expect } from 'vitest';
import type { TestPlatform, TestTenant } from '../support/platform.js';

/**
 * Three tenants of `tier` onboarded in turn: alice and bob share a cell (the case that matters,
 * since cells share nothing anyway), carol is in the other. Placement alternates between the two
 * pooled cells (least loaded first), so the first and the third share one; the expectations fail
 * the suite's set-up if placement ever stops doing so.
 */
export async function onboardNeighbours(env: TestPlatform, tier: TierName): Promise<{ alice: TestTenant; bob: TestTenant; carol: TestTenant }> {
  const tenants: TestTenant[] = [];
  for (let i = 0; i < 3; i++) tenants.push(await env.onboard(tier));
  const [alice, carol, bob] = tenants as [TestTenant, TestTenant, TestTenant];
  expect(alice.cellId).toBe(bob.cellId);
  expect(carol.cellId).not.toBe(alice.cellId);
  return { alice, bob, carol };
}
