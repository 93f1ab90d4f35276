import { Tenant } from '@cellbook/core';
import { operatorApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { ok } from '../http/responses.js';

export const handler = operatorApi(async (request, operator) =>
  ok(await Tenant.update(request.path.tenantId ?? '', requireBody(request), { actor: operator.username })),
);
