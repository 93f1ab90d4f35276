import * as Cell from '@cellbook/core/cells/cell';
import { operatorApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { ok } from '../http/responses.js';
import { cellView } from './cell-view.js';

export const handler = operatorApi(async (request, operator) => ok(cellView(await Cell.update(requireBody(request), { actor: operator.username }))));
