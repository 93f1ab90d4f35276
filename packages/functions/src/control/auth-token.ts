import * as Identity from '@cellbook/core/integrations/identity';
import { parse } from '@cellbook/core/shared/validation';
import * as z from 'zod/mini';
import { publicApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { ok } from '../http/responses.js';

export const SignInInput = z.strictObject({
  username: z.string().check(z.trim(), z.minLength(1), z.maxLength(254)),
  password: z.string().check(z.minLength(1), z.maxLength(256)),
  /** Completes the first sign-in of a user who still has a temporary password. */
  newPassword: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
});

export const handler = publicApi(async (request) => {
  const { username, password, newPassword } = parse(SignInInput, requireBody(request));
  const token = await Identity.signIn(username.toLowerCase(), password, newPassword);
  return ok({ access_token: token.accessToken, token_type: token.tokenType, expires_in: token.expiresIn });
});
