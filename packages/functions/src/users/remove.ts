import * as User from '@cellbook/core/users/user';
import { tenantApi } from '../http/api-handler.js';
import { noContent } from '../http/responses.js';

/** DELETE /users/{username}: the caller (actor) removes the user in the path (target): `user.removed`. */
export const handler = tenantApi(
  async (request) => {
    await User.remove(request.path.username);
    return noContent();
  },
  { audit: { action: 'user.remove', target: 'user', id: { path: 'username' } } },
);
