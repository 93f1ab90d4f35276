import { isMoveInProgress } from '@cellbook/core/tenants/record';
import * as Tenant from '@cellbook/core/tenants/tenant';
import { operatorApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { accepted, ok } from '../http/responses.js';

/** 200 when the change applied; 202 when it goes with a move to another kind of cell (to or from enterprise). */
export const handler = operatorApi(async (request, operator) => {
  const tenantId = request.path.tenantId ?? '';
  const tenant = await Tenant.update(tenantId, requireBody(request), { actor: operator.username });
  const moving = tenant.move?.toTier !== undefined && isMoveInProgress(tenant.move);
  return moving ? accepted(tenant, `/admin/tenants/${tenantId}`) : ok(tenant);
});
