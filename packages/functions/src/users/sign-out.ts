import * as User from '@cellbook/core/users/user';
import { tenantApi } from '../http/api-handler.js';
import { noContent } from '../http/responses.js';

/** POST /users/{username}/sign-out: the caller (actor) signs the user in the path (target) out everywhere: `user.signed-out`. */
export const handler = tenantApi(
  async (request) => {
    await User.signOut(request.path.username);
    return noContent();
  },
  { audit: { action: 'user.sign-out', target: 'user', id: { path: 'username' } } },
);
