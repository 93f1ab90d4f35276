import { Tenant } from '@cellbook/core';
import { operatorApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

export const handler = operatorApi(async (request) => ok(await Tenant.setStatus(request.path.tenantId ?? '', 'SUSPENDED')));
