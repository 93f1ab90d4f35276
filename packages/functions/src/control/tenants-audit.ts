import * as Audit from '@cellbook/core/events/audit';
import * as Tenant from '@cellbook/core/tenants/tenant';
import { operatorApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

export const handler = operatorApi(async (request) => {
  const { tenantId } = await Tenant.get(request.path.tenantId ?? '');
  return ok(await Audit.list(tenantId, request.query));
});
