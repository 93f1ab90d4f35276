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

/** A new access token for the refresh token a sign-in returned (OAuth 2.0's `refresh_token` grant). */
export const RefreshInput = z.strictObject({
  grant_type: z.literal('refresh_token'),
  refresh_token: z.string().check(z.minLength(1), z.maxLength(8192)),
});

function isRefresh(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Object.hasOwn(body, 'grant_type');
}

export const handler = publicApi(async (request) => {
  const body = requireBody(request);
  if (isRefresh(body)) {
    const { refresh_token } = parse(RefreshInput, body);
    const token = await Identity.refresh(refresh_token);
    return ok({ access_token: token.accessToken, token_type: token.tokenType, expires_in: token.expiresIn });
  }
  const { username, password, newPassword } = parse(SignInInput, body);
  const token = await Identity.signIn(username.toLowerCase(), password, newPassword);
  return ok({
    access_token: token.accessToken,
    token_type: token.tokenType,
    expires_in: token.expiresIn,
    ...(token.refreshToken ? { refresh_token: token.refreshToken } : {}),
  });
});
