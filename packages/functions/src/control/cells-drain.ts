import * as TenantMove from '@cellbook/core/lifecycle/tenant-move';
import { operatorApi } from '../http/api-handler.js';
import { accepted } from '../http/responses.js';

export const handler = operatorApi(async (request, operator) => accepted(await TenantMove.drainCell(request.path.cellId ?? '', request.body, { actor: operator.username })));
