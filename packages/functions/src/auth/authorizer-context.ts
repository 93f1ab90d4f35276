/**
 * The contract between the authorizers and the handlers. API Gateway only passes flat
 * string/number/boolean context values, so lists and objects are encoded here and decoded in the
 * handlers' middleware — one module owns both directions.
 */
import * as Keys from '@cellbook/core/keys/keys';
import { EntitlementOverrides } from '@cellbook/core/tenancy/entitlements';
import { TIER_NAMES } from '@cellbook/core/tenancy/tiers';
import type { TenantContext } from '@cellbook/core/tenancy/tenant-context';
import * as z from 'zod/mini';

export type AuthorizerContext = Record<string, string>;

export function encodeTenantContext(context: TenantContext): AuthorizerContext {
  return {
    tenantId: context.tenantId,
    tier: context.tier,
    cellId: context.cellId,
    userId: context.userId,
    username: context.username,
    roles: context.roles.join(','),
    overrides: JSON.stringify(context.overrides),
  };
}

/**
 * The decoders' schemas, built on first use: an authorizer, which only encodes, never carries them
 * (or zod) in its bundle.
 */
function buildShapes() {
  const json = z.transform((value: string, ctx): unknown => {
    try {
      return JSON.parse(value);
    } catch {
      ctx.issues.push({ code: 'custom', message: 'not JSON', input: value });
      return z.NEVER;
    }
  });

  const Roles = z.pipe(
    z.string(),
    z.transform((roles) => (roles ? roles.split(',') : [])),
  );

  const NonEmpty = z.string().check(z.minLength(1));

  const tenant = z.object({
    tenantId: z.string().check(z.refine(Keys.isTenantId, 'malformed tenant id')),
    tier: z.enum(TIER_NAMES),
    cellId: NonEmpty,
    userId: NonEmpty,
    username: NonEmpty,
    roles: Roles,
    overrides: z.pipe(z.pipe(z.string(), json), EntitlementOverrides),
  });
  const operator = z.object({ userId: NonEmpty, username: NonEmpty, roles: Roles });
  return { tenant, operator };
}

let shapes: ReturnType<typeof buildShapes> | undefined;
function contextShapes(): ReturnType<typeof buildShapes> {
  shapes ??= buildShapes();
  return shapes;
}

/** Throws (→ 500) if the authorizer context is missing or malformed: a deployment fault, not a client one. */
export function decodeTenantContext(raw: unknown): TenantContext {
  const parsed = contextShapes().tenant.safeParse(raw);
  if (!parsed.success) throw new Error(`authorizer context is not a tenant context: ${parsed.error.message}`);
  return parsed.data;
}

export interface OperatorContext {
  userId: string;
  username: string;
  roles: string[];
}

export function encodeOperatorContext(context: OperatorContext): AuthorizerContext {
  return { userId: context.userId, username: context.username, roles: context.roles.join(',') };
}

export function decodeOperatorContext(raw: unknown): OperatorContext {
  const parsed = contextShapes().operator.safeParse(raw);
  if (!parsed.success) throw new Error(`authorizer context is not an operator context: ${parsed.error.message}`);
  return parsed.data;
}
