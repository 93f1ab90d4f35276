import * as Case from '@cellbook/core/cases/case';
import { tenantApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { created } from '../http/responses.js';

export const handler = tenantApi(
  async (request) => {
    const opened = await Case.create(requireBody(request));
    return created(opened, `/cases/${opened.caseId}`);
  },
  { audit: { action: 'case.create', target: 'case', id: { response: 'caseId' } } },
);
