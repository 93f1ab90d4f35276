import * as Note from '@cellbook/core/cases/note';
import { tenantApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { created } from '../http/responses.js';

export const handler = tenantApi(async (request) => created(await Note.add(request.path.caseId, requireBody(request))), {
  audit: { action: 'note.create', target: 'note', id: { response: 'noteId' }, caseIdPath: 'caseId' },
});
