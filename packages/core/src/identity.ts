import { randomInt } from 'node:crypto';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminGetUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { optionalEnv, requireEnv } from './config.js';
import { InvalidCredentials, UserAlreadyExists } from './errors.js';

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

export async function signIn(username: string, password: string): Promise<Token> {
  try {
    const { AuthenticationResult } = await cognito().send(
      new InitiateAuthCommand({
        AuthFlow: 'USER_PASSWORD_AUTH',
        ClientId: requireEnv('USER_POOL_CLIENT_ID'),
        AuthParameters: { USERNAME: username, PASSWORD: password },
      }),
    );
    if (!AuthenticationResult?.AccessToken) throw new InvalidCredentials();
    return { accessToken: AuthenticationResult.AccessToken, expiresIn: AuthenticationResult.ExpiresIn ?? 3600, tokenType: 'Bearer' };
  } catch (error) {
    if (error instanceof Error && ['NotAuthorizedException', 'UserNotFoundException'].includes(error.name)) {
      throw new InvalidCredentials();
    }
    throw error;
  }
}

/**
 * How a new user's first password reaches them: `email` lets Cognito send its invitation (AWS);
 * `response` returns a ready-to-use password to the caller (local stage only — there is no mail).
 */
function invitationDelivery(): 'email' | 'response' {
  return optionalEnv('INVITATION_DELIVERY') === 'response' ? 'response' : 'email';
}

export interface NewUser {
  username: string;
  /** Present only with `INVITATION_DELIVERY=response`. */
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
  if (password) {
    // No mailbox locally to complete a first-login change, so the handed-out password is made usable.
    await cognito().send(
      new AdminSetUserPasswordCommand({ UserPoolId: userPoolId, Username: username, Password: password, Permanent: true }),
    );
    return { username, temporaryPassword: password };
  }
  return { username };
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
