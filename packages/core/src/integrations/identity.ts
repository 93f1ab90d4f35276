/**
 * The user directory (Cognito). Tenant users carry `custom:tenant_id`; roles are groups, which
 * the user pool's pre-token-generation trigger copies into the access token's `roles` claim.
 */
import { randomInt } from 'node:crypto';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminGetUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminSetUserPasswordCommand,
  AdminUserGlobalSignOutCommand,
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
  RespondToAuthChallengeCommand,
  type AuthenticationResultType,
} from '@aws-sdk/client-cognito-identity-provider';
import { optionalEnv, requireEnv } from '../shared/config.js';
import { TENANT_ATTRIBUTE } from '../tenancy/tenant-attribute.js';
import { InvalidCredentials, InvalidGrant, NewPasswordRequired, TooManyFailedAttempts, UserAlreadyExists, ValidationFailed } from '../shared/errors.js';

export const ROLES = ['admin', 'user'] as const;
export type TenantRole = (typeof ROLES)[number];
/** The operator directory's one group; no tenant user can be in it (it is another pool). */
export const OPERATOR_ROLE = 'operator';
/** Cognito's message for a user temporarily locked out after repeated failed sign-ins. */
const PASSWORD_ATTEMPTS_EXCEEDED = 'Password attempts exceeded';

let client: CognitoIdentityProviderClient | undefined;
function cognito(): CognitoIdentityProviderClient {
  client ??= new CognitoIdentityProviderClient({});
  return client;
}

export interface Token {
  accessToken: string;
  expiresIn: number;
  tokenType: 'Bearer';
  /** With a sign-in; a refresh returns none (no refresh-token rotation: the one in hand stays valid). */
  refreshToken?: string;
}

function token(result: AuthenticationResultType | undefined): Token {
  if (!result?.AccessToken) throw new InvalidCredentials();
  return {
    accessToken: result.AccessToken,
    expiresIn: result.ExpiresIn ?? 3600,
    tokenType: 'Bearer',
    ...(result.RefreshToken ? { refreshToken: result.RefreshToken } : {}),
  };
}

function isCognitoError(error: unknown, ...names: string[]): error is Error {
  return error instanceof Error && names.includes(error.name);
}

/**
 * The two directories (DESIGN §13): tenant users in the tenant pool, operators in a pool of their
 * own. Each plane's authorizer accepts only tokens of its own pool.
 */
export type Directory = 'tenant' | 'operator';

/** The app client each directory's sign-in uses. */
function clientIdOf(directory: Directory): string {
  return requireEnv(directory === 'tenant' ? 'USER_POOL_CLIENT_ID' : 'OPERATOR_POOL_CLIENT_ID');
}

/**
 * Signs a user in (POST /auth/token): the tenant directory first, then the operator directory. A
 * name unknown to one directory or a wrong password there moves on to the other; the first
 * directory whose password matches decides. If neither signs the user in, a lockout in either is
 * reported, else the usual "incorrect username or password" (which reveals no directory).
 */
export async function signIn(username: string, password: string, newPassword?: string): Promise<Token> {
  let lockedOut = false;
  for (const directory of ['tenant', 'operator'] as const) {
    try {
      return await signInTo(directory, username, password, newPassword);
    } catch (error) {
      if (error instanceof TooManyFailedAttempts) lockedOut = true;
      else if (!(error instanceof InvalidCredentials)) throw error;
    }
  }
  throw lockedOut ? new TooManyFailedAttempts() : new InvalidCredentials();
}

/**
 * A new access token for a refresh token (POST /auth/token, `grant_type: refresh_token`), from
 * whichever directory issued it: the tenant directory first, then the operator directory. A token
 * neither accepts (unknown, expired, revoked by a global sign-out or the user's removal) is
 * `InvalidGrant`. The user's current groups go into the new token.
 */
export async function refresh(refreshToken: string): Promise<Token> {
  for (const directory of ['tenant', 'operator'] as const) {
    try {
      const response = await cognito().send(
        new InitiateAuthCommand({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: clientIdOf(directory), AuthParameters: { REFRESH_TOKEN: refreshToken } }),
      );
      if (response.AuthenticationResult?.AccessToken) return token(response.AuthenticationResult);
    } catch (error) {
      if (!isCognitoError(error, 'NotAuthorizedException', 'UserNotFoundException', 'InvalidParameterException')) throw error;
    }
  }
  throw new InvalidGrant();
}

/**
 * Signs a user in to one directory with USER_PASSWORD_AUTH. A user's first password is temporary:
 * Cognito answers with the NEW_PASSWORD_REQUIRED challenge, which `newPassword` completes in the same call.
 */
async function signInTo(directory: Directory, username: string, password: string, newPassword?: string): Promise<Token> {
  const clientId = clientIdOf(directory);
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
    // Cognito's temporary lockout after repeated failures: a 4xx the client can wait out, not a 401.
    if (isCognitoError(error, 'NotAuthorizedException') && error.message === PASSWORD_ATTEMPTS_EXCEEDED) throw new TooManyFailedAttempts({ cause: error });
    if (isCognitoError(error, 'NotAuthorizedException', 'UserNotFoundException')) throw new InvalidCredentials({ cause: error });
    if (isCognitoError(error, 'InvalidPasswordException')) {
      // Cognito's policy message ("Password must have uppercase characters") is meant for the user.
      throw new ValidationFailed('The new password is not acceptable.', { details: [{ path: 'newPassword', message: error.message }], cause: error });
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

/**
 * How a new user hears of their account: the stage's delivery (`INVITATION_DELIVERY`), or `none`
 * for a user nobody reads mail for (a cell's synthetic probe tenant, whose address is
 * `.invalid`): Cognito sends nothing, and no password is returned (its owner sets one with
 * `setRandomPassword`).
 */
export type Invitation = 'delivery' | 'none';

/** Creates a user bound to `tenantId` (explicit: the control plane calls this outside a tenant). */
export async function createTenantUser(input: { tenantId: string; email: string; role: TenantRole }): Promise<NewUser> {
  const username = input.email.toLowerCase();
  const created = await createNewUser(input.tenantId, username);
  await addToGroup(username, input.role);
  return created;
}

/**
 * Creates a user bound to `tenantId`, or finishes what a crashed earlier attempt started: a user
 * that already exists for the same tenant and has never signed in (FORCE_CHANGE_PASSWORD) gets a
 * fresh temporary password — the first one was never delivered — and its group membership is
 * ensured again. A user of another tenant, or one who has signed in already, is `UserAlreadyExists`.
 */
export async function ensureTenantUser(input: { tenantId: string; email: string; role: TenantRole; invitation?: Invitation }): Promise<NewUser> {
  const username = input.email.toLowerCase();
  const invitation = input.invitation ?? 'delivery';
  let user: NewUser;
  try {
    user = await createUser(input.tenantId, username, invitation);
  } catch (error) {
    if (!isCognitoError(error, 'UsernameExistsException')) throw error;
    const existing = await getUser(username);
    if (existing === undefined) {
      // Deleted between our create and our read (an undo racing the retry): this create decides.
      user = await createNewUser(input.tenantId, username, invitation);
    } else {
      if (existing.tenantId !== input.tenantId) throw new UserAlreadyExists({ cause: error });
      // Nobody waits for an invitation: the user is this tenant's, whatever its password.
      if (invitation === 'none') user = { username };
      else if (existing.status !== 'FORCE_CHANGE_PASSWORD') throw new UserAlreadyExists({ cause: error });
      else user = await reissueTemporaryPassword(username);
    }
  }
  await addToGroup(username, input.role);
  return user;
}

/** Creates the user; a username already taken is the domain's `UserAlreadyExists`. */
async function createNewUser(tenantId: string, username: string, invitation: Invitation = 'delivery'): Promise<NewUser> {
  try {
    return await createUser(tenantId, username, invitation);
  } catch (error) {
    if (isCognitoError(error, 'UsernameExistsException')) throw new UserAlreadyExists({ cause: error });
    throw error;
  }
}

async function createUser(tenantId: string, username: string, invitation: Invitation): Promise<NewUser> {
  const password = invitation === 'none' || invitationDelivery() === 'response' ? generatePassword() : undefined;
  await cognito().send(
    new AdminCreateUserCommand({
      UserPoolId: requireEnv('USER_POOL_ID'),
      Username: username,
      UserAttributes: [
        { Name: 'email', Value: username },
        { Name: 'email_verified', Value: 'true' },
        { Name: TENANT_ATTRIBUTE, Value: tenantId },
      ],
      ...(password ? { TemporaryPassword: password, MessageAction: 'SUPPRESS' } : { DesiredDeliveryMediums: ['EMAIL'] }),
    }),
  );
  return password && invitation === 'delivery' ? { username, temporaryPassword: password } : { username };
}

/**
 * Gives a user a fresh random password, permanent (no challenge at the next sign-in), and returns
 * it. For the synthetic probe's admin, whose password lives only in the memory of the probe that
 * set it: whoever runs the probe next sets another.
 */
export async function setRandomPassword(username: string): Promise<string> {
  const password = generatePassword();
  await cognito().send(new AdminSetUserPasswordCommand({ UserPoolId: requireEnv('USER_POOL_ID'), Username: username.toLowerCase(), Password: password, Permanent: true }));
  return password;
}

/**
 * A new temporary password for a user who never signed in. With `response` delivery it is set
 * here and returned; with `email` delivery Cognito generates one and re-sends the invitation.
 */
async function reissueTemporaryPassword(username: string): Promise<NewUser> {
  const userPoolId = requireEnv('USER_POOL_ID');
  if (invitationDelivery() === 'response') {
    const password = generatePassword();
    await cognito().send(new AdminSetUserPasswordCommand({ UserPoolId: userPoolId, Username: username, Password: password, Permanent: false }));
    return { username, temporaryPassword: password };
  }
  await cognito().send(new AdminCreateUserCommand({ UserPoolId: userPoolId, Username: username, MessageAction: 'RESEND', DesiredDeliveryMediums: ['EMAIL'] }));
  return { username };
}

/** Adding a member again is a no-op in Cognito, so this is safe to repeat. */
async function addToGroup(username: string, role: TenantRole): Promise<void> {
  await cognito().send(new AdminAddUserToGroupCommand({ UserPoolId: requireEnv('USER_POOL_ID'), Username: username, GroupName: role }));
}

const PASSWORD_SETS = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#%+-='] as const;

/** 16 characters with every class present, so any Cognito password policy accepts it. */
function generatePassword(): string {
  const all = PASSWORD_SETS.join('');
  const chars = PASSWORD_SETS.map((set) => set.charAt(randomInt(set.length)));
  while (chars.length < 16) chars.push(all.charAt(randomInt(all.length)));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    // biome-ignore lint/style/noNonNullAssertion: i and j are in range (j ≤ i < chars.length); the swap only reorders.
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

export interface DirectoryUser {
  username: string;
  /** The directory's immutable id of the user, never reused by a new user of the same name (Cognito always has one). */
  sub?: string;
  /** `custom:tenant_id`; absent for operators. */
  tenantId?: string;
  /** Cognito's user status: `FORCE_CHANGE_PASSWORD` until the first sign-in, then `CONFIRMED`. */
  status: string;
  enabled: boolean;
}

/** The user as the directory knows it, or `undefined` if there is no such user. */
export async function getUser(username: string): Promise<DirectoryUser | undefined> {
  try {
    const user = await cognito().send(new AdminGetUserCommand({ UserPoolId: requireEnv('USER_POOL_ID'), Username: username.toLowerCase() }));
    const tenantId = user.UserAttributes?.find((attribute) => attribute.Name === TENANT_ATTRIBUTE)?.Value;
    const sub = user.UserAttributes?.find((attribute) => attribute.Name === 'sub')?.Value;
    return {
      username: user.Username ?? username.toLowerCase(),
      ...(sub !== undefined ? { sub } : {}),
      ...(tenantId !== undefined ? { tenantId } : {}),
      status: user.UserStatus ?? 'UNKNOWN',
      enabled: user.Enabled ?? false,
    };
  } catch (error) {
    if (isCognitoError(error, 'UserNotFoundException')) return undefined;
    throw error;
  }
}

/** Deletes a user; a user already gone is done. */
export async function deleteUser(username: string): Promise<void> {
  try {
    await cognito().send(new AdminDeleteUserCommand({ UserPoolId: requireEnv('USER_POOL_ID'), Username: username }));
  } catch (error) {
    if (!isCognitoError(error, 'UserNotFoundException')) throw error;
  }
}

/**
 * Revokes every refresh token of the user (offboarding): no new access token can be obtained.
 * Issued access tokens stay valid until they expire. A user already gone is done.
 */
export async function signOutEverywhere(username: string): Promise<void> {
  try {
    await cognito().send(new AdminUserGlobalSignOutCommand({ UserPoolId: requireEnv('USER_POOL_ID'), Username: username }));
  } catch (error) {
    if (!isCognitoError(error, 'UserNotFoundException')) throw error;
  }
}

/**
 * Puts the user in `role`'s group and out of every other tenant role's group. Each step is a no-op
 * when already done, so this is safe to repeat (a retry after a crash finishes the change).
 */
export async function setRole(username: string, role: TenantRole): Promise<void> {
  const userPoolId = requireEnv('USER_POOL_ID');
  await addToGroup(username, role);
  for (const other of ROLES.filter((candidate) => candidate !== role)) {
    await cognito().send(new AdminRemoveUserFromGroupCommand({ UserPoolId: userPoolId, Username: username, GroupName: other }));
  }
}

/**
 * What a reset gave the user: `invitation-resent` (they never signed in: a fresh invitation, its
 * temporary password restarted) or `password-reset` (they had signed in: their password is replaced
 * by a new temporary one). Either way their next sign-in must choose a new password.
 */
export type ResetKind = 'invitation-resent' | 'password-reset';

/**
 * Resets a user's password by making it temporary again and delivering a new one as an invitation
 * is delivered (`INVITATION_DELIVERY`): Cognito e-mails it (AWS), or it is returned (local). A user
 * who signed in already gets a random temporary password first, which moves them back to
 * FORCE_CHANGE_PASSWORD, so that the invitation can be re-sent (RESEND needs that status) and the
 * first-sign-in challenge of POST /auth/token is the one way back in: no code flow of its own.
 */
export async function resetPassword(user: DirectoryUser): Promise<NewUser & { kind: ResetKind }> {
  const kind: ResetKind = user.status === 'FORCE_CHANGE_PASSWORD' ? 'invitation-resent' : 'password-reset';
  if (kind === 'password-reset' && invitationDelivery() === 'email') {
    await cognito().send(new AdminSetUserPasswordCommand({ UserPoolId: requireEnv('USER_POOL_ID'), Username: user.username, Password: generatePassword(), Permanent: false }));
  }
  return { ...(await reissueTemporaryPassword(user.username)), kind };
}
