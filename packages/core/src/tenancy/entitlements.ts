import * as z from 'zod/mini';
import { EntitlementLimitReached, FeatureNotEntitled, RoleRequired } from '../shared/errors.js';
import { useTenant } from './tenant-context.js';
import { FEATURES, MAX_EVIDENCE_FILE_BYTES, TIERS, type Feature, type TierLimits, type TierName } from './tiers.js';

/** Per-tenant overrides the control plane may set on top of the tier (DESIGN §2). */
export const EntitlementOverrides = z.strictObject({
  features: z.optional(
    z.strictObject({
      grant: z.optional(z.array(z.enum(FEATURES)).check(z.maxLength(FEATURES.length))),
      revoke: z.optional(z.array(z.enum(FEATURES)).check(z.maxLength(FEATURES.length))),
    }),
  ),
  limits: z.optional(
    z.strictObject({
      maxActiveCases: z.optional(z.nullable(z.number().check(z.int(), z.minimum(0)))),
      maxUsers: z.optional(z.nullable(z.number().check(z.int(), z.minimum(1)))),
      maxEvidenceFileBytes: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(MAX_EVIDENCE_FILE_BYTES))),
      maxEvidenceBytes: z.optional(z.nullable(z.number().check(z.int(), z.minimum(0)))),
    }),
  ),
});
export type EntitlementOverrides = z.infer<typeof EntitlementOverrides>;

/**
 * The one form of a set of overrides: grants and revokes are sets (tier order, no repeats) and an
 * empty list or group says nothing, so two requests that mean the same entitlements are equal.
 */
export function canonicalOverrides(overrides: EntitlementOverrides): EntitlementOverrides {
  const inOrder = (list: readonly Feature[] | undefined) => FEATURES.filter((feature) => list?.includes(feature));
  const grant = inOrder(overrides.features?.grant);
  const revoke = inOrder(overrides.features?.revoke);
  const features = { ...(grant.length ? { grant } : {}), ...(revoke.length ? { revoke } : {}) };
  const limits = Object.fromEntries(Object.entries(overrides.limits ?? {}).filter(([, value]) => value !== undefined)) as NonNullable<EntitlementOverrides['limits']>;
  return { ...(Object.keys(features).length ? { features } : {}), ...(Object.keys(limits).length ? { limits } : {}) };
}

export interface Entitlements {
  features: Feature[];
  limits: TierLimits;
}

/** The tier's entitlements with the tenant's overrides applied. */
export function resolveEntitlements(tier: TierName, overrides: EntitlementOverrides = {}): Entitlements {
  const base = TIERS[tier];
  const granted = new Set<Feature>([...base.features, ...(overrides.features?.grant ?? [])]);
  for (const feature of overrides.features?.revoke ?? []) granted.delete(feature);
  const limits: TierLimits = { ...base.limits };
  if (overrides.limits?.maxActiveCases !== undefined) limits.maxActiveCases = overrides.limits.maxActiveCases;
  if (overrides.limits?.maxUsers !== undefined) limits.maxUsers = overrides.limits.maxUsers;
  if (overrides.limits?.maxEvidenceFileBytes !== undefined) limits.maxEvidenceFileBytes = overrides.limits.maxEvidenceFileBytes;
  if (overrides.limits?.maxEvidenceBytes !== undefined) limits.maxEvidenceBytes = overrides.limits.maxEvidenceBytes;
  return { features: FEATURES.filter((feature) => granted.has(feature)), limits };
}

/** The current tenant's entitlements. */
export function currentEntitlements(): Entitlements {
  const { tier, overrides } = useTenant();
  return resolveEntitlements(tier, overrides);
}

/** Server-side feature gate: throws unless the current tenant's plan includes `feature`. */
export function requireFeature(feature: Feature): void {
  if (!currentEntitlements().features.includes(feature)) {
    throw new FeatureNotEntitled(`Your plan does not include the "${feature}" feature.`);
  }
}

export function requireRole(role: string): void {
  if (!useTenant().roles.includes(role)) {
    throw new RoleRequired(`This action requires the "${role}" role.`);
  }
}

export function limitReached(what: string, limit: number, options?: ErrorOptions): EntitlementLimitReached {
  return new EntitlementLimitReached(`Your plan allows at most ${limit} ${what}.`, options);
}
