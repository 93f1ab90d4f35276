import { AsyncLocalStorage } from 'node:async_hooks';
import type { EntitlementOverrides } from './entitlements.js';
import { MissingTenantContext } from '../shared/errors.js';
import { assertTenantId } from '../keys/keys.js';
import type { TierName } from './tiers.js';

/** Who is calling, as established by the verified token and the tenant registry. Never from input. */
export interface TenantContext {
  tenantId: string;
  tier: TierName;
  cellId: string;
  /** The token's `sub`. */
  userId: string;
  username: string;
  roles: readonly string[];
  overrides: EntitlementOverrides;
}

const storage = new AsyncLocalStorage<Readonly<TenantContext>>();

/** Runs `fn` with `context` as the current tenant; everything it awaits sees the same tenant. */
export function withTenant<T>(context: TenantContext, fn: () => T): T {
  assertTenantId(context.tenantId);
  return storage.run(Object.freeze({ ...context }), fn);
}

/** The current tenant. Throws when called outside `withTenant` — a programming error, never a 4xx. */
export function useTenant(): Readonly<TenantContext> {
  const context = storage.getStore();
  if (!context) throw new MissingTenantContext();
  return context;
}
