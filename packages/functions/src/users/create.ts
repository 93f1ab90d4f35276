import * as User from '@cellbook/core/users/user';
import { tenantApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { created } from '../http/responses.js';

export const handler = tenantApi(async (request) => created(await User.create(requireBody(request))), {
  audit: { action: 'user.invite', target: 'user', id: { response: 'username' } },
});
