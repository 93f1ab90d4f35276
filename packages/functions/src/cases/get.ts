import * as Case from '@cellbook/core/cases/case';
import { tenantApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

export const handler = tenantApi(async (request) => ok(await Case.get(request.path.caseId)), { audit: { action: 'case.read', target: 'case', id: { path: 'caseId' } } });
