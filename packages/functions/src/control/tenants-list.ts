import * as Tenant from '@cellbook/core/tenants/tenant';
import { operatorApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

export const handler = operatorApi(async (request) => ok(await Tenant.list(request.query)));
