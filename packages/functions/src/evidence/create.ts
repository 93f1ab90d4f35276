import * as Evidence from '@cellbook/core/evidence/evidence';
import { tenantApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { created } from '../http/responses.js';

export const handler = tenantApi(
  async (request) => {
    const evidence = await Evidence.requestUpload(request.path.caseId, requireBody(request));
    return created(evidence, `/cases/${evidence.caseId}/evidence/${evidence.evidenceId}`);
  },
  { audit: { action: 'evidence.upload', target: 'evidence', id: { response: 'evidenceId' }, caseIdPath: 'caseId' } },
);
