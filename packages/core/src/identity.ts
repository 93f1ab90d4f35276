import { randomInt } from 'node:crypto';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminGetUserCommand,
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
  RespondToAuthChallengeCommand,
  type AuthenticationResultType,
} from '@aws-sdk/client-cognito-identity-provider';
import { optionalEnv, requireEnv } from './config.js';
import { InvalidCredentials, NewPasswordRequired, UserAlreadyExists, ValidationFailed } from './errors.js';

/**
 * The user directory (Cognito). Tenant users carry `custom:tenant_id`; roles are groups, which
 * the user pool's pre-token-generation trigger copies into the access token's `roles` claim.
 */
export const ROLES = ['admin', 'user'] as const;
export type TenantRole = (typeof ROLES)[number];
export const OPERATOR_ROLE = 'operator';

let client: CognitoIdentityProviderClient | undefined;
function cognito(): CognitoIdentityProviderClient {
  client ??= new CognitoIdentityProviderClient({});
  return client;
}

export interface Token {
  accessToken: string;
  expiresIn: number;
  tokenType: 'Bearer';
}

function token(result: AuthenticationResultType | undefined): Token {
  if (!result?.AccessToken) throw new InvalidCredentials();
  return { accessToken: result.AccessToken, expiresIn: result.ExpiresIn ?? 3600, tokenType: 'Bearer' };
}

function isCognitoError(error: unknown, ...names: string[]): error is Error {
  return error instanceof Error && names.includes(error.name);
}

/**
 * Signs a user in with USER_PASSWORD_AUTH. A user's first password is temporary: Cognito answers
 * with the NEW_PASSWORD_REQUIRED challenge, which `newPassword` completes in the same call.
 */
export async function signIn(username: string, password: string, newPassword?: string): Promise<Token> {
  const clientId = requireEnv('USER_POOL_CLIENT_ID');
  try {
    const response = await cognito().send(
      new InitiateAuthCommand({
        AuthFlow: 'USER_PASSWORD_AUTH',
        ClientId: clientId,
        AuthParameters: { USERNAME: username, PASSWORD: password },
      }),
    );
    if (response.ChallengeName === 'NEW_PASSWORD_REQUIRED') {
      if (!newPassword) throw new NewPasswordRequired();
      const answered = await cognito().send(
        new RespondToAuthChallengeCommand({
          ClientId: clientId,
          ChallengeName: 'NEW_PASSWORD_REQUIRED',
          Session: response.Session,
          ChallengeResponses: { USERNAME: username, NEW_PASSWORD: newPassword },
        }),
      );
      return token(answered.AuthenticationResult);
    }
    return token(response.AuthenticationResult);
  } catch (error) {
    if (isCognitoError(error, 'NotAuthorizedException', 'UserNotFoundException')) throw new InvalidCredentials();
    if (isCognitoError(error, 'InvalidPasswordException')) {
      // Cognito's policy message ("Password must have uppercase characters") is meant for the user.
      throw new ValidationFailed('The new password is not acceptable.', [{ path: 'newPassword', message: error.message }]);
    }
    throw error;
  }
}

/**
 * How a new user's temporary password reaches them: `email` lets Cognito send its invitation
 * (AWS); `response` returns it to the caller (local stage — there is no mail). Either way the
 * password is temporary and the first sign-in must choose a new one.
 */
function invitationDelivery(): 'email' | 'response' {
  return optionalEnv('INVITATION_DELIVERY') === 'response' ? 'response' : 'email';
}

export interface NewUser {
  username: string;
  /** Present only with `INVITATION_DELIVERY=response`; must be changed at first sign-in. */
  temporaryPassword?: string;
}

/** Creates a user bound to `tenantId` (explicit: the control plane calls this outside a tenant). */
export async function createTenantUser(input: { tenantId: string; email: string; role: TenantRole }): Promise<NewUser> {
  const userPoolId = requireEnv('USER_POOL_ID');
  const username = input.email.toLowerCase();
  const delivery = invitationDelivery();
  const password = delivery === 'response' ? generatePassword() : undefined;
  try {
    await cognito().send(
      new AdminCreateUserCommand({
        UserPoolId: userPoolId,
        Username: username,
        UserAttributes: [
          { Name: 'email', Value: username },
          { Name: 'email_verified', Value: 'true' },
          { Name: 'custom:tenant_id', Value: input.tenantId },
        ],
        ...(password ? { TemporaryPassword: password, MessageAction: 'SUPPRESS' } : { DesiredDeliveryMediums: ['EMAIL'] }),
      }),
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'UsernameExistsException') throw new UserAlreadyExists();
    throw error;
  }
  await cognito().send(new AdminAddUserToGroupCommand({ UserPoolId: userPoolId, Username: username, GroupName: input.role }));
  return password ? { username, temporaryPassword: password } : { username };
}

const PASSWORD_SETS = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#%+-='] as const;

/** 16 characters with every class present, so any Cognito password policy accepts it. */
function generatePassword(): string {
  const all = PASSWORD_SETS.join('');
  const chars = PASSWORD_SETS.map((set) => set[randomInt(set.length)]!);
  while (chars.length < 16) chars.push(all[randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

export async function userExists(username: string): Promise<boolean> {
  try {
    await cognito().send(new AdminGetUserCommand({ UserPoolId: requireEnv('USER_POOL_ID'), Username: username.toLowerCase() }));
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'UserNotFoundException') return false;
    throw error;
  }
}

export async function deleteUser(username: string): Promise<void> {
  try {
    await cognito().send(new AdminDeleteUserCommand({ UserPoolId: requireEnv('USER_POOL_ID'), Username: username }));
  } catch (error) {
    if (!(error instanceof Error && error.name === 'UserNotFoundException')) throw error;
  }
}
