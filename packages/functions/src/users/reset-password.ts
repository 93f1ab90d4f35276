import * as User from '@cellbook/core/users/user';
import { tenantApi } from '../http/api-handler.js';
import { ok } from '../http/responses.js';

/** POST /users/{username}/reset-password: the caller (actor) resets the password of the user in the path (target): `user.password-reset`. */
export const handler = tenantApi(async (request) => ok(await User.resetPassword(request.path.username)), {
  audit: { action: 'user.reset-password', target: 'user', id: { path: 'username' } },
});
