import * as Note from '@cellbook/core/cases/note';
import { tenantApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

export const handler = tenantApi(async (request) => ok(await Note.list(request.path.caseId, request.query)), {
  audit: { action: 'note.list', target: 'note', caseIdPath: 'caseId' },
});
