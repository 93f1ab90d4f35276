import * as Trail from '@cellbook/core/tenant-audit/trail';
import { tenantApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

export const handler = tenantApi(async (request) => ok(await Trail.list(request.query)), {
  audit: { action: 'audit.read', target: 'audit' },
});
