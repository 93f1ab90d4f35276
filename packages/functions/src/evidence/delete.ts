import * as Evidence from '@cellbook/core/evidence/evidence';
import { tenantApi } from '../http/api-handler.js';
import { noContent } from '../http/responses.js';

export const handler = tenantApi(
  async (request) => {
    await Evidence.remove(request.path.caseId, request.path.evidenceId);
    return noContent();
  },
  { audit: { action: 'evidence.delete', target: 'evidence', id: { path: 'evidenceId' }, caseIdPath: 'caseId' } },
);
