/**
 * Local Cognito user pool: the offline IdP. Speaks the cognito-idp JSON 1.1 protocol, so the real
 * `CognitoIdentityProviderClient` works against it unchanged, and serves the pool's JWKS under the
 * issuer path exactly as `https://cognito-idp.<region>.amazonaws.com/<userPoolId>` does.
 *
 * One pool, one public app client (no secret) with USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH
 * enabled. Access tokens carry the claims the pool's pre-token-generation (V2) trigger adds:
 * `tenant_id` and `roles`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LOCAL_REGION, systemClock, type Authenticate, type Authorize, type Clock, type RequestListener } from './types.js';
import { JSON_11, parseJsonText, readBody, sendJson, type JsonObject } from './json-protocol.js';
import { DEFAULT_PASSWORD_POLICY, generateTemporaryPassword, hashPassword, passwordMatches, passwordPolicyFailure, type PasswordPolicy } from './cognito/passwords.js';
import { createPoolListener, poolArn, type PoolOperation } from './cognito/pool-listener.js';
import { createTokenSigner } from './cognito/token-signer.js';
import { CognitoError, attributePairs, epochSeconds, optionalInteger, optionalString, requiredString, stringList, stringMap } from './cognito/protocol.js';
import {
  STANDARD_ATTRIBUTES,
  UserTable,
  attributeList,
  decodePaginationToken,
  encodePaginationToken,
  parseFilter,
  type UserRecord,
  type UserStatus,
} from './cognito/user-records.js';
import type { JWK } from 'jose';

export interface LocalCognitoOptions {
  /** e.g. `us-east-1_Cellbook1` */
  userPoolId: string;
  /** The pool's single public app client. */
  clientId: string;
  /** Where this listener is reachable, e.g. `http://127.0.0.1:4010`; the issuer hangs below it. */
  issuerBaseUrl: string;
  /** The pool's region, which its ARN names (the platform's configured region). */
  region?: string;
  authenticate: Authenticate;
  authorize: Authorize;
  now?: Clock;
  /**
   * How many usernames that are no user the sign-in lockout keeps counting at once (default
   * 10,000); past it the one whose last failure is oldest is forgotten. Users' own counts are kept.
   */
  maxTrackedUnknownSignIns?: number;
  /** Access and ID token validity (the app client's AccessTokenValidity / IdTokenValidity). */
  accessTokenTtlSeconds?: number;
  refreshTokenTtlDays?: number;
  /** TemporaryPasswordValidityDays of the pool's policy. */
  temporaryPasswordValidityDays?: number;
  passwordPolicy?: PasswordPolicy;
  /** Groups the stack creates in the pool (AWS::Cognito::UserPoolGroup). */
  groups?: string[];
  /** Custom attributes in the pool schema, without the `custom:` prefix. */
  customAttributes?: string[];
  /**
   * Custom attributes declared immutable (`mutable: false` in the stack), settable only when the
   * user is created. `tenant_id` by default: a user who could rewrite it could hop tenants.
   */
  immutableAttributes?: string[];
  /**
   * `signInCaseSensitive` of the pool. False by default, as in the stack: `Alice` and `alice` are one
   * user, found by either spelling, and stored as created.
   */
  signInCaseSensitive?: boolean;
  /**
   * The pool as an earlier run left it (`snapshot()`): its users with their password hashes, groups
   * and attributes, its refresh tokens, and its signing key — so that tokens and passwords from
   * before a restart still work (`npm start` with a data directory). A new, empty pool when absent.
   */
  restore?: CognitoSnapshot;
  /**
   * Called after anything `snapshot()` holds may have changed; the platform saves it. An API call
   * answers only once the promise settles (saved: a caller that saw success finds it after a crash).
   */
  onChange?: () => void | Promise<void>;
}

/** A pool's state as the platform saves it between runs (JSON: buffers as base64). */
export interface CognitoSnapshot {
  /** The private signing key (JWK). */
  signingKey: JWK;
  groups: string[];
  users: {
    username: string;
    sub: string;
    attributes: [string, string][];
    groups: string[];
    password: { salt: string; hash: string };
    status: UserStatus;
    enabled: boolean;
    createdAt: number;
    lastModifiedAt: number;
    temporaryPasswordSetAt?: number;
  }[];
  refreshGrants: [token: string, grant: RefreshGrant][];
}

/** A user seeded directly into the pool, as if created and confirmed with a permanent password. */
export interface SeedUser {
  username: string;
  password: string;
  /** e.g. `{ email: 'a@example.com', 'custom:tenant_id': 't-1' }` */
  attributes?: Record<string, string>;
  groups?: string[];
  /** Like a user imported with its password hash: the pool's policy is not applied (local operator account). */
  skipPasswordPolicy?: boolean;
}

export interface LocalCognito {
  listener: RequestListener;
  /** Serves one request whose body may already have been read (by `createCognitoService`). */
  serve(req: IncomingMessage, res: ServerResponse, alreadyRead?: Buffer): void;
  userPoolId: string;
  clientId: string;
  /** `${issuerBaseUrl}/${userPoolId}`: the `iss` of every token. */
  issuer: string;
  /** `${issuer}/.well-known/jwks.json` */
  jwksUrl: string;
  userPoolArn: string;
  createUser(user: SeedUser): Promise<{ username: string; sub: string }>;
  hasUser(username: string): boolean;
  /** Sets a user's permanent password, as `AdminSetUserPassword` with `Permanent` (or an import, with `skipPasswordPolicy`). */
  setPassword(username: string, password: string, options?: { skipPasswordPolicy?: boolean }): Promise<void>;
  /** The pool's state, for the platform to save (see `restore`). */
  snapshot(): CognitoSnapshot;
  createGroup(name: string): void;
  /**
   * Signs arbitrary claims with the pool's key. Not reachable over HTTP: it lets tests prove that
   * the authorizer checks issuer, audience, token use and expiry on their own, with a valid signature.
   */
  mintToken(claims: Record<string, unknown>, options?: { issuer?: string; issuedAt?: number; expiresAt?: number }): Promise<string>;
}

export interface RefreshGrant {
  username: string;
  /** Tells a grant of a deleted user apart from one of a new user with the same name. */
  sub: string;
  originJti: string;
  authTime: number;
  expiresAt: number;
  revoked: boolean;
}

interface ChallengeSession {
  username: string;
  sub: string;
  expiresAt: number;
  used: boolean;
}

/**
 * Cognito's temporary lockout: after five failed sign-ins in a row, sign-in is refused for one
 * second, and each further failure doubles the lockout, up to about fifteen minutes. While locked
 * out even the right password is refused ("Password attempts exceeded"), and attempts are not
 * counted. Fifteen minutes without a failure start the count afresh; a success resets it.
 */
export const LOCKOUT_FREE_ATTEMPTS = 5;
export const LOCKOUT_FIRST_MS = 1_000;
export const LOCKOUT_MAX_MS = 15 * 60_000;
export const PASSWORD_ATTEMPTS_EXCEEDED = 'Password attempts exceeded';

interface FailedSignIns {
  count: number;
  lastFailureAt: number;
  /** False for a username that is no user: those entries are the ones bounded. */
  knownUser: boolean;
  lockedUntil: number;
}

const DAY_MS = 86_400_000;
/** AuthSessionValidity default: a NEW_PASSWORD_REQUIRED session lives three minutes. */
const CHALLENGE_SESSION_TTL_MS = 3 * 60_000;
const LIST_USERS_MAX_LIMIT = 60;
const INCORRECT_CREDENTIALS = 'Incorrect username or password.';

const AUTH_FLOWS = ['USER_SRP_AUTH', 'REFRESH_TOKEN_AUTH', 'REFRESH_TOKEN', 'CUSTOM_AUTH', 'ADMIN_NO_SRP_AUTH', 'USER_PASSWORD_AUTH', 'ADMIN_USER_PASSWORD_AUTH', 'USER_AUTH'];

export async function createLocalCognito(options: LocalCognitoOptions): Promise<LocalCognito> {
  const {
    userPoolId,
    clientId,
    authenticate,
    authorize,
    now = systemClock,
    accessTokenTtlSeconds = 3600,
    refreshTokenTtlDays = 30,
    temporaryPasswordValidityDays = 7,
    passwordPolicy = DEFAULT_PASSWORD_POLICY,
    maxTrackedUnknownSignIns = 10_000,
  } = options;
  const issuer = `${options.issuerBaseUrl.replace(/\/+$/, '')}/${userPoolId}`;
  const jwksUrl = `${issuer}/.well-known/jwks.json`;
  const userPoolArn = poolArn(options.region ?? LOCAL_REGION, userPoolId);

  const { restore, onChange = () => undefined } = options;
  const { jwks, issueTokens, mintToken, signingKey } = await createTokenSigner({
    issuer,
    clientId,
    accessTokenTtlSeconds,
    now,
    ...(restore ? { signingKey: restore.signingKey } : {}),
  });
  // Unknown usernames still pay for one scrypt, so response time does not reveal which users exist.
  const decoyHash = await hashPassword(randomBytes(16).toString('hex'));

  const users = new UserTable(options.signInCaseSensitive ?? false);
  /** By user key, for unknown usernames too: a lockout must not reveal whether a user exists. */
  const failedSignIns = new Map<string, FailedSignIns>();
  const groups = new Set([...(options.groups ?? []), ...(restore?.groups ?? [])]);
  const customAttributes = new Set((options.customAttributes ?? ['tenant_id']).map((name) => `custom:${name}`));
  const immutableAttributes = new Set((options.immutableAttributes ?? ['tenant_id']).map((name) => `custom:${name}`));

  /** Every write after creation goes through here: an immutable attribute can never change. */
  function checkAttributeUpdates(attributes: Iterable<[string, string]>): Map<string, string> {
    const checked = checkAttributes(attributes);
    for (const name of checked.keys()) {
      if (immutableAttributes.has(name)) {
        throw new CognitoError('NotAuthorizedException', `A client attempted to write unauthorized attribute ${name}`);
      }
    }
    return checked;
  }
  const refreshGrants = new Map<string, RefreshGrant>(restore?.refreshGrants ?? []);
  for (const user of restore?.users ?? []) {
    users.add({
      ...user,
      attributes: new Map(user.attributes),
      groups: new Set(user.groups),
      password: { salt: Buffer.from(user.password.salt, 'base64'), hash: Buffer.from(user.password.hash, 'base64') },
      temporaryPasswordSetAt: user.temporaryPasswordSetAt,
    });
  }
  const challengeSessions = new Map<string, ChallengeSession>();

  function findUser(username: string): UserRecord {
    const user = users.get(username);
    if (!user) throw new CognitoError('UserNotFoundException', 'User does not exist.');
    return user;
  }

  function checkAttributes(attributes: Iterable<[string, string]>): Map<string, string> {
    const checked = new Map<string, string>();
    for (const [name, value] of attributes) {
      if (name === 'sub') {
        throw new CognitoError('InvalidParameterException', 'Cannot modify the non-mutable attribute sub');
      }
      if (!STANDARD_ATTRIBUTES.has(name) && !customAttributes.has(name)) {
        throw new CognitoError('InvalidParameterException', `Attributes did not conform to the schema: Type for attribute {${name}} could not be determined`);
      }
      checked.set(name, value);
    }
    return checked;
  }

  function checkPassword(password: string): void {
    const failure = passwordPolicyFailure(password, passwordPolicy);
    if (failure) throw new CognitoError('InvalidPasswordException', `Password does not conform to policy: ${failure}`);
  }

  function userType(user: UserRecord, attributesToGet?: Set<string>) {
    return {
      Username: user.username,
      Attributes: attributeList(user, attributesToGet),
      UserCreateDate: epochSeconds(user.createdAt),
      UserLastModifiedDate: epochSeconds(user.lastModifiedAt),
      Enabled: user.enabled,
      UserStatus: user.status,
    };
  }

  function revokeRefreshTokens(user: UserRecord): void {
    for (const grant of refreshGrants.values()) {
      if (grant.sub === user.sub) grant.revoked = true;
    }
  }

  /** A fresh sign-in: new refresh token (opaque, server-side grant) plus access and ID tokens. */
  async function signIn(user: UserRecord) {
    const authTime = Math.floor(now() / 1000);
    const grant: RefreshGrant = {
      username: user.username,
      sub: user.sub,
      originJti: randomUUID(),
      authTime,
      expiresAt: now() + refreshTokenTtlDays * DAY_MS,
      revoked: false,
    };
    const refreshToken = randomBytes(96).toString('base64url');
    refreshGrants.set(refreshToken, grant);
    const tokens = await issueTokens(user, grant);
    return { AuthenticationResult: { ...tokens, RefreshToken: refreshToken }, ChallengeParameters: {} };
  }

  function startNewPasswordChallenge(user: UserRecord) {
    const current = now();
    for (const [id, session] of challengeSessions) {
      if (session.expiresAt <= current) challengeSessions.delete(id);
    }
    const session = randomBytes(96).toString('base64url');
    challengeSessions.set(session, {
      username: user.username,
      sub: user.sub,
      expiresAt: current + CHALLENGE_SESSION_TTL_MS,
      used: false,
    });
    const userAttributes = Object.fromEntries(user.attributes);
    return {
      ChallengeName: 'NEW_PASSWORD_REQUIRED',
      Session: session,
      ChallengeParameters: {
        USER_ID_FOR_SRP: user.username,
        requiredAttributes: '[]',
        userAttributes: JSON.stringify(userAttributes),
      },
    };
  }

  function checkClient(input: JsonObject): void {
    const requested = requiredString(input, 'ClientId');
    if (requested !== clientId) {
      throw new CognitoError('ResourceNotFoundException', `User pool client ${requested} does not exist.`);
    }
  }

  async function initiateAuth(input: JsonObject): Promise<JsonObject> {
    const authFlow = requiredString(input, 'AuthFlow');
    if (!AUTH_FLOWS.includes(authFlow)) {
      throw new CognitoError(
        'InvalidParameterException',
        `1 validation error detected: Value '${authFlow}' at 'authFlow' failed to satisfy constraint: Member must satisfy enum value set: [${AUTH_FLOWS.join(', ')}]`,
      );
    }
    checkClient(input);
    const parameters = stringMap(input.AuthParameters);
    if (authFlow === 'USER_PASSWORD_AUTH') return passwordAuth(parameters);
    if (authFlow === 'REFRESH_TOKEN_AUTH' || authFlow === 'REFRESH_TOKEN') return refreshAuth(parameters);
    if (authFlow.startsWith('ADMIN_')) {
      throw new CognitoError('InvalidParameterException', 'Initiate Auth method not supported.');
    }
    throw new CognitoError('InvalidParameterException', `${authFlow} flow not enabled for this client`);
  }

  async function passwordAuth(parameters: Record<string, string>): Promise<JsonObject> {
    const username = parameters.USERNAME;
    const password = parameters.PASSWORD;
    if (username === undefined) throw new CognitoError('InvalidParameterException', 'Missing required parameter USERNAME');
    if (password === undefined) throw new CognitoError('InvalidParameterException', 'Missing required parameter PASSWORD');
    const attemptKey = users.key(username);
    const failures = failedSignIns.get(attemptKey);
    if (failures !== undefined && now() < failures.lockedUntil) {
      throw new CognitoError('NotAuthorizedException', PASSWORD_ATTEMPTS_EXCEEDED);
    }
    const user = users.get(username);
    // Same answer for an unknown user and a wrong password (PreventUserExistenceErrors: ENABLED).
    const matches = await passwordMatches(password, user?.password ?? decoyHash);
    if (!user || !matches) {
      recordFailedSignIn(attemptKey, user !== undefined);
      throw new CognitoError('NotAuthorizedException', INCORRECT_CREDENTIALS);
    }
    failedSignIns.delete(attemptKey);
    if (!user.enabled) throw new CognitoError('NotAuthorizedException', 'User is disabled.');
    if (user.status === 'FORCE_CHANGE_PASSWORD') {
      if (user.temporaryPasswordSetAt !== undefined && now() - user.temporaryPasswordSetAt > temporaryPasswordValidityDays * DAY_MS) {
        throw new CognitoError('NotAuthorizedException', 'Temporary password has expired and must be reset by an administrator.');
      }
      return startNewPasswordChallenge(user);
    }
    return signIn(user);
  }

  /**
   * Counts a failure. Expired entries go on every write, and entries for usernames that are no user
   * are bounded (oldest last failure first), so guessing names cannot grow memory without end.
   */
  function recordFailedSignIn(attemptKey: string, knownUser: boolean): void {
    const current = now();
    for (const [key, entry] of failedSignIns) {
      if (current - entry.lastFailureAt > LOCKOUT_MAX_MS && entry.lockedUntil <= current) failedSignIns.delete(key);
    }
    const previous = failedSignIns.get(attemptKey);
    const count = (previous?.count ?? 0) + 1;
    const beyondFree = count - LOCKOUT_FREE_ATTEMPTS;
    const lockedUntil = beyondFree < 0 ? 0 : current + Math.min(LOCKOUT_FIRST_MS * 2 ** beyondFree, LOCKOUT_MAX_MS);
    // Re-inserted, so the map's order is the order of last failures.
    failedSignIns.delete(attemptKey);
    failedSignIns.set(attemptKey, { count, lastFailureAt: current, lockedUntil, knownUser });
    const unknown = [...failedSignIns].filter(([, entry]) => !entry.knownUser);
    for (const [key] of unknown.slice(0, Math.max(0, unknown.length - maxTrackedUnknownSignIns))) failedSignIns.delete(key);
  }

  async function refreshAuth(parameters: Record<string, string>): Promise<JsonObject> {
    const token = parameters.REFRESH_TOKEN;
    if (token === undefined) throw new CognitoError('InvalidParameterException', 'Missing required parameter REFRESH_TOKEN');
    const grant = refreshGrants.get(token);
    if (!grant) throw new CognitoError('NotAuthorizedException', 'Invalid Refresh Token');
    const user = users.get(grant.username);
    if (grant.revoked || !user || user.sub !== grant.sub) {
      throw new CognitoError('NotAuthorizedException', 'Refresh Token has been revoked');
    }
    if (grant.expiresAt <= now()) throw new CognitoError('NotAuthorizedException', 'Refresh Token has expired');
    if (!user.enabled) throw new CognitoError('NotAuthorizedException', 'User is disabled.');
    // Without refresh-token rotation Cognito returns no new refresh token.
    return { AuthenticationResult: await issueTokens(user, grant), ChallengeParameters: {} };
  }

  async function respondToAuthChallenge(input: JsonObject): Promise<JsonObject> {
    checkClient(input);
    const challengeName = requiredString(input, 'ChallengeName');
    if (challengeName !== 'NEW_PASSWORD_REQUIRED') {
      throw new CognitoError('InvalidParameterException', `Invalid challenge name ${challengeName}`);
    }
    const responses = stringMap(input.ChallengeResponses);
    const sessionId = optionalString(input, 'Session');
    const session = sessionId === undefined ? undefined : challengeSessions.get(sessionId);
    if (!session) throw new CognitoError('NotAuthorizedException', 'Invalid session for the user.');
    if (session.used) {
      throw new CognitoError('NotAuthorizedException', 'Invalid session for the user, session can only be used once.');
    }
    if (session.expiresAt <= now()) {
      throw new CognitoError('NotAuthorizedException', 'Invalid session for the user, session is expired.');
    }
    if (responses.USERNAME === undefined) throw new CognitoError('InvalidParameterException', 'Missing required parameter USERNAME');
    const newPassword = responses.NEW_PASSWORD;
    if (newPassword === undefined) throw new CognitoError('InvalidParameterException', 'Missing required parameter NEW_PASSWORD');
    const user = users.get(session.username);
    if (users.key(responses.USERNAME) !== users.key(session.username) || !user || user.sub !== session.sub) {
      throw new CognitoError('NotAuthorizedException', 'Invalid session for the user.');
    }
    if (!user.enabled) throw new CognitoError('NotAuthorizedException', 'User is disabled.');
    checkPassword(newPassword);
    const updates = checkAttributeUpdates(
      Object.entries(responses)
        .filter(([name]) => name.startsWith('userAttributes.'))
        .map(([name, value]): [string, string] => [name.slice('userAttributes.'.length), value]),
    );
    session.used = true;
    for (const [name, value] of updates) user.attributes.set(name, value);
    user.password = await hashPassword(newPassword);
    user.status = 'CONFIRMED';
    user.temporaryPasswordSetAt = undefined;
    user.lastModifiedAt = now();
    return signIn(user);
  }

  async function adminCreateUser(input: JsonObject): Promise<JsonObject> {
    const username = requiredString(input, 'Username');
    const messageAction = optionalString(input, 'MessageAction');
    if (messageAction !== undefined && messageAction !== 'SUPPRESS' && messageAction !== 'RESEND') {
      throw new CognitoError(
        'InvalidParameterException',
        `1 validation error detected: Value '${messageAction}' at 'messageAction' failed to satisfy constraint: Member must satisfy enum value set: [RESEND, SUPPRESS]`,
      );
    }
    const temporaryPassword = optionalString(input, 'TemporaryPassword') ?? generateTemporaryPassword(passwordPolicy);
    checkPassword(temporaryPassword);

    if (messageAction === 'RESEND') {
      // RESEND re-issues the invitation of an existing user and restarts the temporary password's validity.
      const user = findUser(username);
      if (user.status !== 'FORCE_CHANGE_PASSWORD') {
        throw new CognitoError('UnsupportedUserStateException', `Resend not possible. ${username} status is not FORCE_CHANGE_PASSWORD.`);
      }
      user.password = await hashPassword(temporaryPassword);
      user.temporaryPasswordSetAt = now();
      user.lastModifiedAt = now();
      return { User: userType(user) };
    }

    if (users.has(username)) throw new CognitoError('UsernameExistsException', 'User account already exists');
    const attributes = checkAttributes(attributePairs(input.UserAttributes, 'UserAttributes'));
    const password = await hashPassword(temporaryPassword);
    // Re-check after the await: a concurrent call may have created the same username meanwhile.
    if (users.has(username)) throw new CognitoError('UsernameExistsException', 'User account already exists');
    const createdAt = now();
    const user: UserRecord = {
      username,
      sub: randomUUID(),
      attributes,
      groups: new Set(),
      password,
      status: 'FORCE_CHANGE_PASSWORD',
      enabled: true,
      createdAt,
      lastModifiedAt: createdAt,
      temporaryPasswordSetAt: createdAt,
    };
    users.add(user);
    return { User: userType(user) };
  }

  async function adminSetUserPassword(input: JsonObject): Promise<JsonObject> {
    const user = findUser(requiredString(input, 'Username'));
    const password = requiredString(input, 'Password');
    const permanent = input.Permanent === true;
    checkPassword(password);
    user.password = await hashPassword(password);
    user.status = permanent ? 'CONFIRMED' : 'FORCE_CHANGE_PASSWORD';
    user.temporaryPasswordSetAt = permanent ? undefined : now();
    user.lastModifiedAt = now();
    return {};
  }

  function adminGetUser(input: JsonObject): JsonObject {
    const user = findUser(requiredString(input, 'Username'));
    const { Attributes, ...rest } = userType(user);
    return { ...rest, UserAttributes: Attributes };
  }

  function changeGroupMembership(input: JsonObject, add: boolean): JsonObject {
    const username = requiredString(input, 'Username');
    const groupName = requiredString(input, 'GroupName');
    if (!groups.has(groupName)) throw new CognitoError('ResourceNotFoundException', 'Group not found.');
    const user = findUser(username);
    if (add) user.groups.add(groupName);
    else user.groups.delete(groupName);
    return {};
  }

  function setEnabled(input: JsonObject, enabled: boolean): JsonObject {
    const user = findUser(requiredString(input, 'Username'));
    user.enabled = enabled;
    user.lastModifiedAt = now();
    return {};
  }

  function adminDeleteUser(input: JsonObject): JsonObject {
    const user = findUser(requiredString(input, 'Username'));
    revokeRefreshTokens(user);
    users.delete(user.username);
    failedSignIns.delete(users.key(user.username));
    return {};
  }

  function adminUserGlobalSignOut(input: JsonObject): JsonObject {
    // Like Cognito, this revokes refresh tokens only: access and ID tokens are self-contained JWTs
    // and keep verifying against the JWKS until they expire. (Cognito additionally rejects them in
    // its own token-authorized APIs such as GetUser, which this stand-in does not offer.)
    revokeRefreshTokens(findUser(requiredString(input, 'Username')));
    return {};
  }

  function listUsers(input: JsonObject): JsonObject {
    const limit = optionalInteger(input, 'Limit') ?? LIST_USERS_MAX_LIMIT;
    if (limit < 0 || limit > LIST_USERS_MAX_LIMIT) {
      throw new CognitoError(
        'InvalidParameterException',
        `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to ${LIST_USERS_MAX_LIMIT}`,
      );
    }
    const matches = parseFilter(optionalString(input, 'Filter'));
    const attributesToGet = input.AttributesToGet === undefined ? undefined : new Set(stringList(input.AttributesToGet));
    const after = decodePaginationToken(optionalString(input, 'PaginationToken'));
    // Ordered by username so a pagination token stays valid while users come and go.
    const selected = [...users.values()]
      .filter((user) => after === undefined || user.username > after)
      .filter(matches)
      .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
    const page = selected.slice(0, limit);
    const last = page.at(-1);
    return {
      Users: page.map((user) => userType(user, attributesToGet)),
      ...(selected.length > page.length && last ? { PaginationToken: encodePaginationToken(last.username) } : {}),
    };
  }

  const operations = new Map<string, PoolOperation>([
    ['InitiateAuth', { signed: false, handle: initiateAuth }],
    ['RespondToAuthChallenge', { signed: false, handle: respondToAuthChallenge }],
    ['AdminCreateUser', { signed: true, handle: adminCreateUser }],
    ['AdminSetUserPassword', { signed: true, handle: adminSetUserPassword }],
    ['AdminGetUser', { signed: true, handle: adminGetUser }],
    ['AdminAddUserToGroup', { signed: true, handle: (input) => changeGroupMembership(input, true) }],
    ['AdminRemoveUserFromGroup', { signed: true, handle: (input) => changeGroupMembership(input, false) }],
    ['AdminDisableUser', { signed: true, handle: (input) => setEnabled(input, false) }],
    ['AdminEnableUser', { signed: true, handle: (input) => setEnabled(input, true) }],
    ['AdminDeleteUser', { signed: true, handle: adminDeleteUser }],
    ['AdminUserGlobalSignOut', { signed: true, handle: adminUserGlobalSignOut }],
    ['ListUsers', { signed: true, handle: listUsers }],
  ]);

  // Every operation but the two reads may change users, grants or lockouts: each tells the platform
  // so, and answers once it is saved, rather than each mutation site remembering to.
  const READS = new Set(['AdminGetUser', 'ListUsers']);
  for (const [name, operation] of operations) {
    if (READS.has(name)) continue;
    operations.set(name, {
      ...operation,
      handle: async (input) => {
        try {
          return await operation.handle(input);
        } finally {
          await onChange();
        }
      },
    });
  }

  const serve = createPoolListener({
    userPoolId,
    region: options.region ?? LOCAL_REGION,
    issuer,
    jwksUrl,
    jwks,
    operations,
    authenticate,
    authorize,
  });
  const listener: RequestListener = (req, res) => serve(req, res);

  async function createUser(seed: SeedUser): Promise<{ username: string; sub: string }> {
    if (users.has(seed.username)) throw new Error(`User ${seed.username} already exists in ${userPoolId}`);
    const unknownGroup = (seed.groups ?? []).find((group) => !groups.has(group));
    if (unknownGroup !== undefined) throw new Error(`Group ${unknownGroup} does not exist in ${userPoolId}`);
    const failure = seed.skipPasswordPolicy ? undefined : passwordPolicyFailure(seed.password, passwordPolicy);
    if (failure) throw new Error(`Password for ${seed.username} does not conform to policy: ${failure}`);
    const attributes = checkAttributes(Object.entries(seed.attributes ?? {}));
    const password = await hashPassword(seed.password);
    if (users.has(seed.username)) throw new Error(`User ${seed.username} already exists in ${userPoolId}`);
    const createdAt = now();
    const user: UserRecord = {
      username: seed.username,
      sub: randomUUID(),
      attributes,
      groups: new Set(seed.groups ?? []),
      password,
      status: 'CONFIRMED',
      enabled: true,
      createdAt,
      lastModifiedAt: createdAt,
      temporaryPasswordSetAt: undefined,
    };
    users.add(user);
    await onChange();
    return { username: user.username, sub: user.sub };
  }

  function createGroup(name: string): void {
    groups.add(name);
    void onChange();
  }

  async function setPassword(username: string, password: string, setOptions: { skipPasswordPolicy?: boolean } = {}): Promise<void> {
    const user = users.get(username);
    if (!user) throw new Error(`No user ${username} in ${userPoolId}`);
    const failure = setOptions.skipPasswordPolicy ? undefined : passwordPolicyFailure(password, passwordPolicy);
    if (failure) throw new Error(`Password for ${username} does not conform to policy: ${failure}`);
    user.password = await hashPassword(password);
    user.status = 'CONFIRMED';
    user.temporaryPasswordSetAt = undefined;
    user.lastModifiedAt = now();
    await onChange();
  }

  function snapshot(): CognitoSnapshot {
    const current = now();
    return {
      signingKey,
      groups: [...groups],
      users: [...users.values()].map((user) => ({
        username: user.username,
        sub: user.sub,
        attributes: [...user.attributes],
        groups: [...user.groups],
        password: { salt: user.password.salt.toString('base64'), hash: user.password.hash.toString('base64') },
        status: user.status,
        enabled: user.enabled,
        createdAt: user.createdAt,
        lastModifiedAt: user.lastModifiedAt,
        ...(user.temporaryPasswordSetAt === undefined ? {} : { temporaryPasswordSetAt: user.temporaryPasswordSetAt }),
      })),
      // Expired grants answer "expired" only until the restart; then "invalid", which refuses as well.
      refreshGrants: [...refreshGrants].filter(([, grant]) => grant.expiresAt > current),
    };
  }

  return {
    listener,
    serve,
    userPoolId,
    clientId,
    issuer,
    jwksUrl,
    userPoolArn,
    createUser,
    hasUser: (username) => users.has(username),
    setPassword,
    createGroup,
    mintToken,
    snapshot,
  };
}

/**
 * One cognito-idp endpoint for several user pools, as the regional service is: a call goes to the
 * pool its `UserPoolId` (admin APIs) or `ClientId` (sign-in) names, a JWKS request to the pool in
 * its path. A call naming no pool here goes to the first, which answers as Cognito does (IAM first,
 * then "does not exist").
 */
export function createCognitoService(pools: readonly LocalCognito[]): RequestListener {
  const [first] = pools;
  if (!first) throw new Error('a Cognito endpoint needs at least one user pool');
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'POST' || path !== '/') {
      const pool = pools.find((candidate) => path.startsWith(`/${candidate.userPoolId}/`)) ?? first;
      pool.serve(req, res);
      return;
    }
    readBody(req)
      .then((body) => {
        let input: unknown;
        try {
          input = parseJsonText(body.toString('utf8'));
        } catch {
          input = undefined;
        }
        const named = (member: string): unknown =>
          typeof input === 'object' && input !== null && Object.hasOwn(input, member) ? (input as Record<string, unknown>)[member] : undefined;
        const poolId = named('UserPoolId');
        const clientId = named('ClientId');
        const pool = pools.find((candidate) => (poolId !== undefined ? candidate.userPoolId === poolId : candidate.clientId === clientId)) ?? first;
        pool.serve(req, res, body);
      })
      .catch(() => {
        if (!res.headersSent) sendJson(res, 500, { __type: 'InternalErrorException', message: 'Internal server error.' }, JSON_11, 'InternalErrorException');
      });
  };
}
