import * as TenantMove from '@cellbook/core/lifecycle/tenant-move';
import { operatorApi } from '../http/api-handler.js';
import { accepted } from '../http/responses.js';

/** Starts (or resumes) a move; the mover does the work, `GET /admin/tenants/{id}` shows its progress. */
export const handler = operatorApi(async (request, operator) => {
  const tenantId = request.path.tenantId ?? '';
  const move = await TenantMove.request(tenantId, request.body, { actor: operator.username });
  return accepted({ tenantId, move }, `/admin/tenants/${tenantId}`);
});
