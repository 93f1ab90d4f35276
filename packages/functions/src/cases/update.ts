import * as Case from '@cellbook/core/cases/case';
import { tenantApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { ok } from '../http/responses.js';

export const handler = tenantApi(async (request) => ok(await Case.update(request.path.caseId, requireBody(request))), {
  audit: { action: 'case.update', target: 'case', id: { path: 'caseId' } },
});
