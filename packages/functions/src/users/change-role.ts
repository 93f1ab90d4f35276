import * as User from '@cellbook/core/users/user';
import { tenantApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { ok } from '../http/responses.js';

/** PATCH /users/{username} `{role}`: the caller (actor) gives the user in the path (target) a role: `user.role-changed` when `changed`. */
export const handler = tenantApi(
  async (request) => {
    const { user } = await User.changeRole(request.path.username, requireBody(request));
    return ok(user);
  },
  { audit: { action: 'user.role-change', target: 'user', id: { path: 'username' } } },
);
