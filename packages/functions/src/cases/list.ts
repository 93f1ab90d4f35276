import * as Case from '@cellbook/core/cases/case';
import { tenantApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

export const handler = tenantApi(async (request) => ok(await Case.list(request.query)), { audit: { action: 'case.list', target: 'case' } });
