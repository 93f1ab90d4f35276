import * as User from '@cellbook/core/users/user';
import { tenantApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

export const handler = tenantApi(async (request) => ok(await User.list(request.query)), { audit: { action: 'user.list', target: 'user' } });
