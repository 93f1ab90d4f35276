import { Identity } from '@cellbook/core';
import { parse } from '@cellbook/core/shared/validation';
import { z } from 'zod';
import { publicApi } from '../http/api-handler.js';
import { requireBody } from '../http/request.js';
import { ok } from '../http/responses.js';

export const SignInInput = z.strictObject({
  username: z.string().trim().min(1).max(254),
  password: z.string().min(1).max(256),
  /** Completes the first sign-in of a user who still has a temporary password. */
  newPassword: z.string().min(1).max(256).optional(),
});

export const handler = publicApi(async (request) => {
  const { username, password, newPassword } = parse(SignInInput, requireBody(request));
  const token = await Identity.signIn(username.toLowerCase(), password, newPassword);
  return ok({ access_token: token.accessToken, token_type: token.tokenType, expires_in: token.expiresIn });
});
