import { EntitlementOverrides, Keys, TIER_NAMES, type TenantContext } from '@cellbook/core';
import { z } from 'zod';

/**
 * The contract between the authorizers and the handlers. API Gateway only passes flat
 * string/number/boolean context values, so lists and objects are encoded here and decoded in the
 * handlers' middleware — one module owns both directions.
 */
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

function json(value: string, ctx: z.RefinementCtx): unknown {
  try {
    return JSON.parse(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not JSON' });
    return z.NEVER;
  }
}

const TenantContextShape = z.object({
  tenantId: z.string().refine(Keys.isTenantId, 'malformed tenant id'),
  tier: z.enum(TIER_NAMES),
  cellId: z.string().min(1),
  userId: z.string().min(1),
  username: z.string().min(1),
  roles: z.string().transform((roles) => (roles ? roles.split(',') : [])),
  overrides: z.string().transform(json).pipe(EntitlementOverrides),
});

/** Throws (→ 500) if the authorizer context is missing or malformed: a deployment fault, not a client one. */
export function decodeTenantContext(raw: unknown): TenantContext {
  const parsed = TenantContextShape.safeParse(raw);
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

const OperatorContextShape = z.object({
  userId: z.string().min(1),
  username: z.string().min(1),
  roles: z.string().transform((roles) => (roles ? roles.split(',') : [])),
});

export function decodeOperatorContext(raw: unknown): OperatorContext {
  const parsed = OperatorContextShape.safeParse(raw);
  if (!parsed.success) throw new Error(`authorizer context is not an operator context: ${parsed.error.message}`);
  return parsed.data;
}
