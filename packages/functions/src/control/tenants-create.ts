import * as Onboarding from '@cellbook/core/lifecycle/onboarding';
import { operatorApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { created } from '../http/responses.js';

export const handler = operatorApi(async (request, operator) => {
  const idempotencyKey = request.headers['idempotency-key'];
  const tenant = await Onboarding.onboard(requireBody(request), {
    actor: operator.username,
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
  });
  return created(tenant, `/admin/tenants/${tenant.tenantId}`);
});
