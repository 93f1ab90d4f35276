import * as Cell from '@cellbook/core/cells/cell';
import { operatorApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

/** `GET /admin/cells/{cellId}/audit`: operator actions on the cell, oldest first, paginated. */
export const handler = operatorApi(async (request) => ok(await Cell.auditTrail(request.path.cellId ?? '', request.query)));
