import * as Evidence from '@cellbook/core/evidence/evidence';
import { tenantApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

export const handler = tenantApi(async (request) => ok(await Evidence.complete(request.path.caseId, request.path.evidenceId)), {
  audit: { action: 'evidence.complete', target: 'evidence', id: { path: 'evidenceId' }, caseIdPath: 'caseId' },
});
