import * as Offboarding from '@cellbook/core/lifecycle/offboarding';
import { operatorApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

export const handler = operatorApi(async (request, operator) => ok(await Offboarding.offboard(request.path.tenantId ?? '', request.body, { actor: operator.username })));
