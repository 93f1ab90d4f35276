import { User } from '@cellbook/core';
import { tenantApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

export const handler = tenantApi(async (request) => ok(await User.list(request.query)));
