import * as Evidence from '@cellbook/core/evidence/evidence';
import { tenantApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

export const handler = tenantApi(async (request) => ok(await Evidence.list(request.path.caseId, request.query)), {
  audit: { action: 'evidence.list', target: 'evidence', caseIdPath: 'caseId' },
});
