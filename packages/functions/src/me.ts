import * as Counters from '@cellbook/core/tenancy/counters';
import { currentEntitlements } from '@cellbook/core/tenancy/entitlements';
import { useTenant } from '@cellbook/core/tenancy/tenant-context';
import { tenantApi } from './http/api-handler.js';
import { ok } from './http/responses.js';

export const handler = tenantApi(async () => {
  const { tenantId, tier, cellId, roles, username } = useTenant();
  return ok({ tenantId, tier, cellId, username, roles, entitlements: currentEntitlements(), usage: await Counters.usage() });
});
