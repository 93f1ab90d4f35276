import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  AdminGetUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminSetUserPasswordCommand,
  AdminUserGlobalSignOutCommand,
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
  ListUsersCommand,
  RespondToAuthChallengeCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCKOUT_FIRST_MS, LOCKOUT_MAX_MS, createLocalCognito, type LocalCognito } from './cognito-idp.js';
import type { Authorize, RoleSession } from './types.js';
import { fakeAuthenticate, fakeRoleSession } from './test-credentials.js';

const USER_POOL_ID = 'us-east-1_CellbookT';
const CLIENT_ID = 'local-web-client';
const DAY_MS = 86_400_000;

/** Access key id → the role session it stands for, and the actions that role may perform. */
const sessions = new Map<string, { session: RoleSession; allowedActions: Set<string> }>([
  ['AKIACONTROLPLANE', { session: fakeRoleSession('AKIACONTROLPLANE', 'control-plane'), allowedActions: new Set(['cognito-idp:*']) }],
  ['AKIAREADONLY', { session: fakeRoleSession('AKIAREADONLY', 'support-readonly'), allowedActions: new Set(['cognito-idp:AdminGetUser']) }],
]);

const authenticate = fakeAuthenticate((id) => sessions.get(id)?.session);

const authorize: Authorize = async (session, request) => {
  const allowed = sessions.get(session.accessKeyId)?.allowedActions ?? new Set<string>();
  const ok = allowed.has(request.action) || allowed.has(`${request.action.split(':')[0]}:*`);
  return { allowed: ok, reason: ok ? 'allowed by test policy' : 'no statement allows the action' };
};

let server: Server;
let endpoint: string;
let cognito: LocalCognito;
let clock = Date.now();
let admin: CognitoIdentityProviderClient;
let readOnly: CognitoIdentityProviderClient;
let strangerClient: CognitoIdentityProviderClient;
/** No credentials at all: InitiateAuth is an unsigned call for a public app client. */
let publicClient: CognitoIdentityProviderClient;

function client(accessKeyId?: string): CognitoIdentityProviderClient {
  return new CognitoIdentityProviderClient({
    endpoint,
    region: 'us-east-1',
    maxAttempts: 1,
    ...(accessKeyId ? { credentials: { accessKeyId, secretAccessKey: 'secret' } } : {}),
  });
}

function signIn(username: string, password: string) {
  return publicClient.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: CLIENT_ID, AuthParameters: { USERNAME: username, PASSWORD: password } }));
}

async function verify(token: string | undefined): Promise<JWTPayload> {
  const jwks = createRemoteJWKSet(new URL(cognito.jwksUrl));
  const { payload } = await jwtVerify(token ?? '', jwks, { issuer: cognito.issuer, currentDate: new Date(clock) });
  return payload;
}

beforeAll(async () => {
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cognito = await createLocalCognito({
    userPoolId: USER_POOL_ID,
    clientId: CLIENT_ID,
    issuerBaseUrl: endpoint,
    authenticate,
    authorize,
    now: () => clock,
    accessTokenTtlSeconds: 900,
    groups: ['tenant-admin', 'tenant-user', 'operator'],
    maxTrackedUnknownSignIns: 8,
  });
  server.on('request', cognito.listener);
  admin = client('AKIACONTROLPLANE');
  readOnly = client('AKIAREADONLY');
  strangerClient = client('AKIAUNKNOWN');
  publicClient = client();
  await cognito.createUser({
    username: 'alice',
    password: 'Correct-Horse-1',
    attributes: { email: 'alice@acme.test', email_verified: 'true', 'custom:tenant_id': 'acme' },
    groups: ['tenant-admin'],
  });
  await cognito.createUser({ username: 'operator', password: 'Operator-Pass-1', groups: ['operator'] });
});

afterAll(async () => {
  for (const c of [admin, readOnly, strangerClient, publicClient]) c.destroy();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

describe('user pool discovery', () => {
  it('serves one RS256 signing key as a JWKS below the issuer', async () => {
    expect(cognito.issuer).toBe(`${endpoint}/${USER_POOL_ID}`);
    expect(cognito.userPoolArn).toBe(`arn:aws:cognito-idp:us-east-1:000000000000:userpool/${USER_POOL_ID}`);
    const response = await fetch(cognito.jwksUrl);
    expect(response.status).toBe(200);
    const { keys } = (await response.json()) as { keys: Record<string, string>[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
    expect(keys[0]?.kid).toEqual(expect.any(String));
    expect(keys[0]).not.toHaveProperty('d');
  });
});

describe('InitiateAuth (USER_PASSWORD_AUTH)', () => {
  it('issues access and ID tokens that verify against the served JWKS and carry the tenant claims', async () => {
    const { AuthenticationResult: result } = await signIn('alice', 'Correct-Horse-1');
    expect(result).toMatchObject({ ExpiresIn: 900, TokenType: 'Bearer', RefreshToken: expect.any(String) });

    const access = await verify(result?.AccessToken);
    expect(access).toMatchObject({
      iss: cognito.issuer,
      client_id: CLIENT_ID,
      token_use: 'access',
      username: 'alice',
      scope: 'aws.cognito.signin.user.admin',
      'cognito:groups': ['tenant-admin'],
      tenant_id: 'acme',
      roles: ['tenant-admin'],
      iat: Math.floor(clock / 1000),
      auth_time: Math.floor(clock / 1000),
      exp: Math.floor(clock / 1000) + 900,
    });
    expect(access.sub).toMatch(/^[0-9a-f-]{36}$/);
    expect(access.jti).toEqual(expect.any(String));
    expect(access).not.toHaveProperty('aud');
    const keys = (await (await fetch(cognito.jwksUrl)).json()) as { keys: { kid: string }[] };
    expect(decodeProtectedHeader(result?.AccessToken ?? '').kid).toBe(keys.keys[0]?.kid);

    const id = await verify(result?.IdToken);
    expect(id).toMatchObject({
      aud: CLIENT_ID,
      token_use: 'id',
      sub: access.sub,
      email: 'alice@acme.test',
      email_verified: true,
      'custom:tenant_id': 'acme',
      'cognito:username': 'alice',
    });
  });

  it('omits tenant_id and cognito:groups for a user without a tenant or groups, and sends empty roles', async () => {
    await admin.send(new AdminCreateUserCommand({ UserPoolId: USER_POOL_ID, Username: 'loner', TemporaryPassword: 'Temp-Pass-1', MessageAction: 'SUPPRESS' }));
    await admin.send(new AdminSetUserPasswordCommand({ UserPoolId: USER_POOL_ID, Username: 'loner', Password: 'Loner-Pass-1', Permanent: true }));
    const access = await verify((await signIn('loner', 'Loner-Pass-1')).AuthenticationResult?.AccessToken);
    expect(access).not.toHaveProperty('tenant_id');
    expect(access).not.toHaveProperty('cognito:groups');
    expect(access.roles).toEqual([]);
  });

  it('answers a wrong password and an unknown user with the same NotAuthorizedException', async () => {
    await expect(signIn('alice', 'Wrong-Horse-1')).rejects.toMatchObject({
      name: 'NotAuthorizedException',
      message: 'Incorrect username or password.',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(signIn('nobody', 'Correct-Horse-1')).rejects.toMatchObject({
      name: 'NotAuthorizedException',
      message: 'Incorrect username or password.',
    });
  });

  it('refuses a disabled user with "User is disabled." and lets them in again once enabled', async () => {
    await admin.send(new AdminDisableUserCommand({ UserPoolId: USER_POOL_ID, Username: 'operator' }));
    await expect(signIn('operator', 'Operator-Pass-1')).rejects.toMatchObject({ name: 'NotAuthorizedException', message: 'User is disabled.' });
    const user = await admin.send(new AdminGetUserCommand({ UserPoolId: USER_POOL_ID, Username: 'operator' }));
    expect(user.Enabled).toBe(false);
    await admin.send(new AdminEnableUserCommand({ UserPoolId: USER_POOL_ID, Username: 'operator' }));
    await expect(signIn('operator', 'Operator-Pass-1')).resolves.toHaveProperty('AuthenticationResult.AccessToken');
  });

  it('rejects an app client id that is not the pool client with ResourceNotFoundException', async () => {
    await expect(
      publicClient.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: 'other', AuthParameters: { USERNAME: 'alice', PASSWORD: 'Correct-Horse-1' } })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException', message: 'User pool client other does not exist.' });
  });

  it('refuses auth flows the client does not enable', async () => {
    await expect(
      publicClient.send(new InitiateAuthCommand({ AuthFlow: 'USER_SRP_AUTH', ClientId: CLIENT_ID, AuthParameters: { USERNAME: 'alice', SRP_A: 'abc' } })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException', message: 'USER_SRP_AUTH flow not enabled for this client' });
  });
});

describe('new users (AdminCreateUser → NEW_PASSWORD_REQUIRED)', () => {
  it('creates a FORCE_CHANGE_PASSWORD user and rejects the same username again with UsernameExistsException', async () => {
    const { User: user } = await admin.send(
      new AdminCreateUserCommand({
        UserPoolId: USER_POOL_ID,
        Username: 'bob',
        TemporaryPassword: 'Temp-Pass-1',
        MessageAction: 'SUPPRESS',
        UserAttributes: [
          { Name: 'email', Value: 'bob@globex.test' },
          { Name: 'custom:tenant_id', Value: 'globex' },
        ],
      }),
    );
    expect(user).toMatchObject({ Username: 'bob', Enabled: true, UserStatus: 'FORCE_CHANGE_PASSWORD' });
    expect(user?.UserCreateDate).toBeInstanceOf(Date);
    expect(user?.Attributes).toEqual(
      expect.arrayContaining([
        { Name: 'sub', Value: expect.stringMatching(/^[0-9a-f-]{36}$/) },
        { Name: 'email', Value: 'bob@globex.test' },
        { Name: 'custom:tenant_id', Value: 'globex' },
      ]),
    );
    await expect(
      admin.send(new AdminCreateUserCommand({ UserPoolId: USER_POOL_ID, Username: 'bob', TemporaryPassword: 'Temp-Pass-2', MessageAction: 'SUPPRESS' })),
    ).rejects.toMatchObject({ name: 'UsernameExistsException', message: 'User account already exists' });
  });

  it('challenges the temporary password with NEW_PASSWORD_REQUIRED and signs the user in once they choose a new one', async () => {
    const challenge = await signIn('bob', 'Temp-Pass-1');
    expect(challenge.AuthenticationResult).toBeUndefined();
    expect(challenge.ChallengeName).toBe('NEW_PASSWORD_REQUIRED');
    expect(challenge.Session).toEqual(expect.any(String));
    expect(JSON.parse(challenge.ChallengeParameters?.userAttributes ?? '{}')).toMatchObject({ email: 'bob@globex.test' });

    const respond = (password: string) =>
      publicClient.send(
        new RespondToAuthChallengeCommand({
          ClientId: CLIENT_ID,
          ChallengeName: 'NEW_PASSWORD_REQUIRED',
          Session: challenge.Session,
          ChallengeResponses: { USERNAME: 'bob', NEW_PASSWORD: password },
        }),
      );
    await expect(respond('weakpass')).rejects.toMatchObject({
      name: 'InvalidPasswordException',
      message: 'Password does not conform to policy: Password must have uppercase characters',
    });
    const answered = await respond('Chosen-Pass-1');
    expect((await verify(answered.AuthenticationResult?.AccessToken)).tenant_id).toBe('globex');
    await expect(respond('Chosen-Pass-2')).rejects.toMatchObject({
      name: 'NotAuthorizedException',
      message: 'Invalid session for the user, session can only be used once.',
    });

    const user = await admin.send(new AdminGetUserCommand({ UserPoolId: USER_POOL_ID, Username: 'bob' }));
    expect(user.UserStatus).toBe('CONFIRMED');
    await expect(signIn('bob', 'Temp-Pass-1')).rejects.toMatchObject({ name: 'NotAuthorizedException' });
    await expect(signIn('bob', 'Chosen-Pass-1')).resolves.toHaveProperty('AuthenticationResult.AccessToken');
  });

  it('refuses to let a user rewrite their immutable custom:tenant_id while answering the first-login challenge', async () => {
    await admin.send(
      new AdminCreateUserCommand({
        UserPoolId: USER_POOL_ID,
        Username: 'hopper',
        TemporaryPassword: 'Temp-Pass-1',
        MessageAction: 'SUPPRESS',
        UserAttributes: [{ Name: 'custom:tenant_id', Value: 'globex' }],
      }),
    );
    const challenge = await signIn('hopper', 'Temp-Pass-1');
    await expect(
      publicClient.send(
        new RespondToAuthChallengeCommand({
          ClientId: CLIENT_ID,
          ChallengeName: 'NEW_PASSWORD_REQUIRED',
          Session: challenge.Session,
          ChallengeResponses: { USERNAME: 'hopper', NEW_PASSWORD: 'Chosen-Pass-1', 'userAttributes.custom:tenant_id': 'initech' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'NotAuthorizedException' });
    const user = await admin.send(new AdminGetUserCommand({ UserPoolId: USER_POOL_ID, Username: 'hopper' }));
    expect(user.UserAttributes?.find((attribute) => attribute.Name === 'custom:tenant_id')?.Value).toBe('globex');
    expect(user.UserStatus).toBe('FORCE_CHANGE_PASSWORD');
  });

  it('expires a temporary password after seven days', async () => {
    await admin.send(new AdminCreateUserCommand({ UserPoolId: USER_POOL_ID, Username: 'late', TemporaryPassword: 'Temp-Pass-1', MessageAction: 'SUPPRESS' }));
    const created = clock;
    try {
      clock = created + 7 * DAY_MS + 1;
      await expect(signIn('late', 'Temp-Pass-1')).rejects.toMatchObject({
        name: 'NotAuthorizedException',
        message: 'Temporary password has expired and must be reset by an administrator.',
      });
      await admin.send(new AdminSetUserPasswordCommand({ UserPoolId: USER_POOL_ID, Username: 'late', Password: 'Temp-Pass-2', Permanent: false }));
      await expect(signIn('late', 'Temp-Pass-2')).resolves.toMatchObject({ ChallengeName: 'NEW_PASSWORD_REQUIRED' });
    } finally {
      clock = created;
    }
  });

  it('enforces the password policy: at least 8 characters with upper case, lower case and a digit', async () => {
    const create = (password: string) =>
      admin.send(new AdminCreateUserCommand({ UserPoolId: USER_POOL_ID, Username: `p-${password}`, TemporaryPassword: password, MessageAction: 'SUPPRESS' }));
    await expect(create('Sh0rt')).rejects.toMatchObject({ name: 'InvalidPasswordException', message: 'Password does not conform to policy: Password not long enough' });
    await expect(create('NOLOWER123')).rejects.toMatchObject({ message: 'Password does not conform to policy: Password must have lowercase characters' });
    await expect(create('noupper123')).rejects.toMatchObject({ message: 'Password does not conform to policy: Password must have uppercase characters' });
    await expect(create('NoDigitsHere')).rejects.toMatchObject({ message: 'Password does not conform to policy: Password must have numeric characters' });
    await expect(admin.send(new AdminSetUserPasswordCommand({ UserPoolId: USER_POOL_ID, Username: 'alice', Password: 'short', Permanent: true }))).rejects.toMatchObject({
      name: 'InvalidPasswordException',
    });
  });

  it('generates a temporary password when none is given, so the user waits for an administrator', async () => {
    const { User: user } = await admin.send(new AdminCreateUserCommand({ UserPoolId: USER_POOL_ID, Username: 'invited', MessageAction: 'SUPPRESS' }));
    expect(user?.UserStatus).toBe('FORCE_CHANGE_PASSWORD');
    await admin.send(new AdminSetUserPasswordCommand({ UserPoolId: USER_POOL_ID, Username: 'invited', Password: 'Invited-Pass-1', Permanent: true }));
    const confirmed = await admin.send(new AdminGetUserCommand({ UserPoolId: USER_POOL_ID, Username: 'invited' }));
    expect(confirmed.UserStatus).toBe('CONFIRMED');
    await expect(signIn('invited', 'Invited-Pass-1')).resolves.toHaveProperty('AuthenticationResult.AccessToken');
  });

  it('rejects attributes that are not in the pool schema', async () => {
    await expect(
      admin.send(
        new AdminCreateUserCommand({ UserPoolId: USER_POOL_ID, Username: 'odd', MessageAction: 'SUPPRESS', UserAttributes: [{ Name: 'custom:plan', Value: 'gold' }] }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'Attributes did not conform to the schema: Type for attribute {custom:plan} could not be determined',
    });
  });
});

describe('re-issuing a temporary password (an onboarding that resumes after a crash)', () => {
  const create = (username: string, tenantId = 'acme') =>
    admin.send(
      new AdminCreateUserCommand({
        UserPoolId: USER_POOL_ID,
        Username: username,
        TemporaryPassword: 'Temp-Pass-1',
        MessageAction: 'SUPPRESS',
        UserAttributes: [{ Name: 'custom:tenant_id', Value: tenantId }],
      }),
    );

  it('AdminSetUserPassword (Permanent: false) replaces a temporary password with another temporary one', async () => {
    await create('reissued');
    await admin.send(new AdminSetUserPasswordCommand({ UserPoolId: USER_POOL_ID, Username: 'reissued', Password: 'Temp-Pass-2', Permanent: false }));
    await expect(signIn('reissued', 'Temp-Pass-1')).rejects.toMatchObject({ name: 'NotAuthorizedException' });
    await expect(signIn('reissued', 'Temp-Pass-2')).resolves.toMatchObject({ ChallengeName: 'NEW_PASSWORD_REQUIRED' });
    const user = await admin.send(new AdminGetUserCommand({ UserPoolId: USER_POOL_ID, Username: 'reissued' }));
    expect(user.UserStatus).toBe('FORCE_CHANGE_PASSWORD');
    expect(user.UserAttributes).toContainEqual({ Name: 'custom:tenant_id', Value: 'acme' });
  });

  it('AdminSetUserPassword (Permanent: true) confirms the user with that password', async () => {
    await create('settled');
    await admin.send(new AdminSetUserPasswordCommand({ UserPoolId: USER_POOL_ID, Username: 'settled', Password: 'Settled-Pass-1', Permanent: true }));
    expect((await admin.send(new AdminGetUserCommand({ UserPoolId: USER_POOL_ID, Username: 'settled' }))).UserStatus).toBe('CONFIRMED');
    await expect(signIn('settled', 'Settled-Pass-1')).resolves.toHaveProperty('AuthenticationResult.AccessToken');
  });

  it('AdminCreateUser with MessageAction RESEND gives an invited user a new temporary password and keeps everything else', async () => {
    await create('resent');
    const { User: user } = await admin.send(
      new AdminCreateUserCommand({ UserPoolId: USER_POOL_ID, Username: 'resent', MessageAction: 'RESEND', TemporaryPassword: 'Resent-Pass-1' }),
    );
    expect(user).toMatchObject({ Username: 'resent', UserStatus: 'FORCE_CHANGE_PASSWORD' });
    expect(user?.Attributes).toContainEqual({ Name: 'custom:tenant_id', Value: 'acme' });
    await expect(signIn('resent', 'Temp-Pass-1')).rejects.toMatchObject({ name: 'NotAuthorizedException' });
    await expect(signIn('resent', 'Resent-Pass-1')).resolves.toMatchObject({ ChallengeName: 'NEW_PASSWORD_REQUIRED' });
  });

  it('restarts the temporary password’s validity on RESEND', async () => {
    const created = clock;
    try {
      await create('late-invite');
      clock = created + 6 * DAY_MS;
      await admin.send(new AdminCreateUserCommand({ UserPoolId: USER_POOL_ID, Username: 'late-invite', MessageAction: 'RESEND', TemporaryPassword: 'Resent-Pass-2' }));
      clock = created + 12 * DAY_MS;
      await expect(signIn('late-invite', 'Resent-Pass-2')).resolves.toMatchObject({ ChallengeName: 'NEW_PASSWORD_REQUIRED' });
    } finally {
      clock = created;
    }
  });

  it('refuses RESEND for a user that does not exist (UserNotFoundException) or has signed in (UnsupportedUserStateException)', async () => {
    await expect(admin.send(new AdminCreateUserCommand({ UserPoolId: USER_POOL_ID, Username: 'nobody', MessageAction: 'RESEND' }))).rejects.toMatchObject({
      name: 'UserNotFoundException',
      message: 'User does not exist.',
    });
    await expect(admin.send(new AdminCreateUserCommand({ UserPoolId: USER_POOL_ID, Username: 'alice', MessageAction: 'RESEND' }))).rejects.toMatchObject({
      name: 'UnsupportedUserStateException',
    });
  });

  it('authorizes AdminSetUserPassword and the RESEND of AdminCreateUser like every other admin action', async () => {
    await create('guarded');
    await expect(
      readOnly.send(new AdminSetUserPasswordCommand({ UserPoolId: USER_POOL_ID, Username: 'guarded', Password: 'Guarded-Pass-1', Permanent: false })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('cognito-idp:AdminSetUserPassword') });
    await expect(readOnly.send(new AdminCreateUserCommand({ UserPoolId: USER_POOL_ID, Username: 'guarded', MessageAction: 'RESEND' }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('cognito-idp:AdminCreateUser'),
    });
    await expect(signIn('guarded', 'Temp-Pass-1')).resolves.toMatchObject({ ChallengeName: 'NEW_PASSWORD_REQUIRED' });
  });
});

describe("core's identity adapter against the stand-in", () => {
  let Identity: typeof import('@cellbook/core/integrations/identity');
  let UserAlreadyExists: typeof import('@cellbook/core/shared/errors').UserAlreadyExists;
  const saved: Record<string, string | undefined> = {};
  const setEnv = (values: Record<string, string>) => {
    for (const [name, value] of Object.entries(values)) {
      if (!(name in saved)) saved[name] = process.env[name];
      process.env[name] = value;
    }
  };

  beforeAll(async () => {
    // The adapter builds its client from the environment on first use, exactly as in a function.
    setEnv({
      AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIACONTROLPLANE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      USER_POOL_ID,
      INVITATION_DELIVERY: 'response',
    });
    cognito.createGroup('admin');
    Identity = await import('@cellbook/core/integrations/identity');
    ({ UserAlreadyExists } = await import('@cellbook/core/shared/errors'));
  });
  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('ensureTenantUser repeated before the first sign-in hands out a new working password and voids the old one', async () => {
    const first = await Identity.ensureTenantUser({ tenantId: 'initech', email: 'Boss@Initech.test', role: 'admin' });
    const second = await Identity.ensureTenantUser({ tenantId: 'initech', email: 'boss@initech.test', role: 'admin' });
    expect(second.username).toBe('boss@initech.test');
    expect(second.temporaryPassword).toEqual(expect.any(String));
    expect(second.temporaryPassword).not.toBe(first.temporaryPassword);
    await expect(signIn('boss@initech.test', first.temporaryPassword!)).rejects.toMatchObject({ name: 'NotAuthorizedException' });
    const challenge = await signIn('boss@initech.test', second.temporaryPassword!);
    expect(challenge.ChallengeName).toBe('NEW_PASSWORD_REQUIRED');
    await expect(Identity.getUser('boss@initech.test')).resolves.toEqual({
      username: 'boss@initech.test',
      sub: expect.any(String),
      tenantId: 'initech',
      status: 'FORCE_CHANGE_PASSWORD',
      enabled: true,
    });
    // Still one admin of one tenant, in the admin group once.
    const answered = await publicClient.send(
      new RespondToAuthChallengeCommand({
        ClientId: CLIENT_ID,
        ChallengeName: 'NEW_PASSWORD_REQUIRED',
        Session: challenge.Session,
        ChallengeResponses: { USERNAME: 'boss@initech.test', NEW_PASSWORD: 'Chosen-Pass-1' },
      }),
    );
    expect(await verify(answered.AuthenticationResult?.AccessToken)).toMatchObject({ tenant_id: 'initech', roles: ['admin'] });
  });

  it('refuses the user once they have signed in, and a user of another tenant, with UserAlreadyExists', async () => {
    await expect(Identity.ensureTenantUser({ tenantId: 'initech', email: 'boss@initech.test', role: 'admin' })).rejects.toBeInstanceOf(UserAlreadyExists);
    await Identity.ensureTenantUser({ tenantId: 'initech', email: 'peter@initech.test', role: 'admin' });
    await expect(Identity.ensureTenantUser({ tenantId: 'globex', email: 'peter@initech.test', role: 'admin' })).rejects.toBeInstanceOf(UserAlreadyExists);
    expect((await Identity.getUser('peter@initech.test'))?.tenantId).toBe('initech');
  });

  it('re-sends the invitation through Cognito when delivery is by email', async () => {
    setEnv({ INVITATION_DELIVERY: 'email' });
    try {
      await expect(Identity.ensureTenantUser({ tenantId: 'initech', email: 'milton@initech.test', role: 'admin' })).resolves.toEqual({ username: 'milton@initech.test' });
      await expect(Identity.ensureTenantUser({ tenantId: 'initech', email: 'milton@initech.test', role: 'admin' })).resolves.toEqual({ username: 'milton@initech.test' });
      expect((await Identity.getUser('milton@initech.test'))?.status).toBe('FORCE_CHANGE_PASSWORD');
    } finally {
      setEnv({ INVITATION_DELIVERY: 'response' });
    }
  });

  it('signs a user out everywhere, and deletes it; both are done when the user is already gone', async () => {
    await Identity.ensureTenantUser({ tenantId: 'initech', email: 'bob@initech.test', role: 'admin' });
    await Identity.signOutEverywhere('bob@initech.test');
    await Identity.deleteUser('bob@initech.test');
    await expect(Identity.signOutEverywhere('bob@initech.test')).resolves.toBeUndefined();
    await expect(Identity.deleteUser('bob@initech.test')).resolves.toBeUndefined();
    await expect(Identity.getUser('bob@initech.test')).resolves.toBeUndefined();
  });
});

describe('groups', () => {
  it('puts group changes into the roles claim of the next token', async () => {
    await admin.send(new AdminAddUserToGroupCommand({ UserPoolId: USER_POOL_ID, Username: 'alice', GroupName: 'tenant-user' }));
    let access = await verify((await signIn('alice', 'Correct-Horse-1')).AuthenticationResult?.AccessToken);
    expect(access.roles).toEqual(['tenant-admin', 'tenant-user']);
    expect(access['cognito:groups']).toEqual(['tenant-admin', 'tenant-user']);

    await admin.send(new AdminRemoveUserFromGroupCommand({ UserPoolId: USER_POOL_ID, Username: 'alice', GroupName: 'tenant-user' }));
    access = await verify((await signIn('alice', 'Correct-Horse-1')).AuthenticationResult?.AccessToken);
    expect(access.roles).toEqual(['tenant-admin']);
  });

  it('rejects a group that does not exist in the pool', async () => {
    await expect(admin.send(new AdminAddUserToGroupCommand({ UserPoolId: USER_POOL_ID, Username: 'alice', GroupName: 'root' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Group not found.',
    });
  });
});

describe('user lifecycle', () => {
  it('seeds a user whose password is below the policy only when told to skip it', async () => {
    await expect(cognito.createUser({ username: 'weak', password: 'operator' })).rejects.toThrow(/does not conform to policy/);
    await cognito.createUser({ username: 'weak', password: 'operator', skipPasswordPolicy: true });
    await expect(signIn('weak', 'operator')).resolves.toHaveProperty('AuthenticationResult.AccessToken');
  });

  it('answers UserNotFoundException "User does not exist." for an unknown user', async () => {
    await expect(admin.send(new AdminGetUserCommand({ UserPoolId: USER_POOL_ID, Username: 'ghost' }))).rejects.toMatchObject({
      name: 'UserNotFoundException',
      message: 'User does not exist.',
    });
  });

  it('deletes a user so they can no longer sign in', async () => {
    await cognito.createUser({ username: 'leaver', password: 'Leaver-Pass-1' });
    await admin.send(new AdminDeleteUserCommand({ UserPoolId: USER_POOL_ID, Username: 'leaver' }));
    await expect(admin.send(new AdminGetUserCommand({ UserPoolId: USER_POOL_ID, Username: 'leaver' }))).rejects.toMatchObject({ name: 'UserNotFoundException' });
    await expect(signIn('leaver', 'Leaver-Pass-1')).rejects.toMatchObject({ message: 'Incorrect username or password.' });
  });

  it('global sign-out revokes refresh tokens while issued access tokens verify until they expire', async () => {
    await cognito.createUser({ username: 'carol', password: 'Carol-Pass-1', attributes: { 'custom:tenant_id': 'acme' } });
    const { AuthenticationResult: tokens } = await signIn('carol', 'Carol-Pass-1');
    const refresh = () =>
      publicClient.send(new InitiateAuthCommand({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: CLIENT_ID, AuthParameters: { REFRESH_TOKEN: tokens?.RefreshToken ?? '' } }));

    const refreshed = await refresh();
    expect(refreshed.AuthenticationResult?.RefreshToken).toBeUndefined();
    expect((await verify(refreshed.AuthenticationResult?.AccessToken)).tenant_id).toBe('acme');

    await admin.send(new AdminUserGlobalSignOutCommand({ UserPoolId: USER_POOL_ID, Username: 'carol' }));
    await expect(refresh()).rejects.toMatchObject({ name: 'NotAuthorizedException', message: 'Refresh Token has been revoked' });
    await expect(verify(tokens?.AccessToken)).resolves.toMatchObject({ username: 'carol' });
  });

  it('global sign-out of an unknown user answers UserNotFoundException, and is authorized like other admin actions', async () => {
    await expect(admin.send(new AdminUserGlobalSignOutCommand({ UserPoolId: USER_POOL_ID, Username: 'ghost' }))).rejects.toMatchObject({
      name: 'UserNotFoundException',
      message: 'User does not exist.',
    });
    await expect(readOnly.send(new AdminUserGlobalSignOutCommand({ UserPoolId: USER_POOL_ID, Username: 'alice' }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('cognito-idp:AdminUserGlobalSignOut'),
    });
  });
});

describe('ListUsers', () => {
  it('filters on email and username with exact matches', async () => {
    const byEmail = await admin.send(new ListUsersCommand({ UserPoolId: USER_POOL_ID, Filter: 'email = "alice@acme.test"' }));
    expect(byEmail.Users?.map((user) => user.Username)).toEqual(['alice']);
    const byUsername = await admin.send(new ListUsersCommand({ UserPoolId: USER_POOL_ID, Filter: 'username = "operator"' }));
    expect(byUsername.Users?.map((user) => user.Username)).toEqual(['operator']);
    const none = await admin.send(new ListUsersCommand({ UserPoolId: USER_POOL_ID, Filter: 'email = "alice@acme"' }));
    expect(none.Users).toEqual([]);
  });

  it('pages with Limit and PaginationToken without repeating or skipping users', async () => {
    const all = await admin.send(new ListUsersCommand({ UserPoolId: USER_POOL_ID }));
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await admin.send(new ListUsersCommand({ UserPoolId: USER_POOL_ID, Limit: 2, PaginationToken: token }));
      expect(page.Users?.length).toBeLessThanOrEqual(2);
      seen.push(...(page.Users ?? []).map((user) => user.Username ?? ''));
      token = page.PaginationToken;
    } while (token);
    expect(seen).toEqual(all.Users?.map((user) => user.Username));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('rejects a filter it cannot parse', async () => {
    await expect(admin.send(new ListUsersCommand({ UserPoolId: USER_POOL_ID, Filter: 'custom:tenant_id = "acme"' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: 'Error while parsing filter.',
    });
  });
});

describe('admin API authentication and authorization', () => {
  it('rejects an unsigned admin call', async () => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSCognitoIdentityProviderService.AdminGetUser' },
      body: JSON.stringify({ UserPoolId: USER_POOL_ID, Username: 'alice' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
  });

  it('passes the authenticator’s error through for unknown credentials', async () => {
    await expect(strangerClient.send(new AdminGetUserCommand({ UserPoolId: USER_POOL_ID, Username: 'alice' }))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
  });

  it('denies an action the caller’s policy does not allow with AccessDeniedException naming the role and pool', async () => {
    await expect(readOnly.send(new AdminGetUserCommand({ UserPoolId: USER_POOL_ID, Username: 'alice' }))).resolves.toHaveProperty('Username', 'alice');
    await expect(readOnly.send(new AdminDeleteUserCommand({ UserPoolId: USER_POOL_ID, Username: 'alice' }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message:
        `User: arn:aws:sts::000000000000:assumed-role/support-readonly/test is not authorized to perform: cognito-idp:AdminDeleteUser ` +
        `on resource: ${cognito.userPoolArn} because no identity-based policy allows the cognito-idp:AdminDeleteUser action`,
      $metadata: { httpStatusCode: 400 },
    });
    await expect(signIn('alice', 'Correct-Horse-1')).resolves.toHaveProperty('AuthenticationResult');
  });

  it('answers ResourceNotFoundException for another user pool id', async () => {
    await expect(admin.send(new AdminGetUserCommand({ UserPoolId: 'us-east-1_Other', Username: 'alice' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'User pool us-east-1_Other does not exist.',
    });
  });

  it('answers UnknownOperationException for an operation it does not implement', async () => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSCognitoIdentityProviderService.CreateUserPool' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });
});

describe('temporary lockout after repeated failed sign-ins (as Cognito)', () => {
  async function createConfirmed(username: string, password: string): Promise<void> {
    await cognito.createUser({ username, password, attributes: { 'custom:tenant_id': 'acme' } });
  }
  const lockedOut = { name: 'NotAuthorizedException', message: 'Password attempts exceeded' };

  it('refuses even the right password after fifteen wrong ones in a row, until the lockout has passed', async () => {
    await createConfirmed('hammered', 'Right-Pass-1');
    const started = clock;
    try {
      for (let attempt = 0; attempt < 15; attempt++) {
        await expect(signIn('hammered', `Wrong-Pass-${attempt}`)).rejects.toMatchObject({ name: 'NotAuthorizedException' });
      }
      await expect(signIn('hammered', 'Right-Pass-1')).rejects.toMatchObject(lockedOut);
      await expect(signIn('HAMMERED', 'Right-Pass-1')).rejects.toMatchObject(lockedOut);
      clock += LOCKOUT_FIRST_MS;
      await expect(signIn('hammered', 'Right-Pass-1')).resolves.toHaveProperty('AuthenticationResult.AccessToken');
    } finally {
      clock = started;
    }
  });

  it('keeps counting at most a bounded number of unknown usernames, and never forgets a user’s lockout for them', async () => {
    await createConfirmed('name-guessing-victim', 'Right-Pass-1');
    const started = clock;
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        await expect(signIn('name-guessing-victim', 'Wrong-Pass-1')).rejects.toMatchObject({ name: 'NotAuthorizedException' });
        await expect(signIn('ghost-first', 'Wrong-Pass-1')).rejects.toMatchObject({ name: 'NotAuthorizedException' });
      }
      await expect(signIn('ghost-first', 'Wrong-Pass-1')).rejects.toMatchObject(lockedOut);
      // Eight more unknown usernames (this pool counts at most eight) push the oldest one out…
      for (let guess = 0; guess < 8; guess++) await expect(signIn(`ghost-${guess}`, 'Wrong-Pass-1')).rejects.toMatchObject({ message: 'Incorrect username or password.' });
      await expect(signIn('ghost-first', 'Wrong-Pass-1')).rejects.toMatchObject({ message: 'Incorrect username or password.' });
      // …but not a user's lockout, however many names are guessed.
      await expect(signIn('name-guessing-victim', 'Right-Pass-1')).rejects.toMatchObject(lockedOut);
    } finally {
      clock = started;
    }
  });

  it('caps the doubling lockout at fifteen minutes', async () => {
    await createConfirmed('persistent', 'Right-Pass-1');
    const started = clock;
    try {
      for (let attempt = 0; attempt < 5; attempt++) await expect(signIn('persistent', 'Wrong-Pass-1')).rejects.toMatchObject({ name: 'NotAuthorizedException' });
      // Each time the lockout has just passed, one more wrong password: 1 s, 2 s, 4 s, … 512 s, then 15 min.
      for (let lockout = 0; lockout < 12; lockout++) {
        clock += Math.min(LOCKOUT_FIRST_MS * 2 ** lockout, LOCKOUT_MAX_MS);
        await expect(signIn('persistent', 'Wrong-Pass-1')).rejects.toMatchObject({ message: 'Incorrect username or password.' });
      }
      clock += LOCKOUT_MAX_MS - 1;
      await expect(signIn('persistent', 'Right-Pass-1')).rejects.toMatchObject(lockedOut);
      clock += 1;
      await expect(signIn('persistent', 'Right-Pass-1')).resolves.toHaveProperty('AuthenticationResult.AccessToken');
    } finally {
      clock = started;
    }
  });

  it('locks out for one second after the fifth failure, and doubles the lockout with each further failure', async () => {
    await createConfirmed('doubling', 'Right-Pass-1');
    const started = clock;
    try {
      for (let attempt = 0; attempt < 4; attempt++) {
        await expect(signIn('doubling', 'Wrong-Pass-1')).rejects.toMatchObject({ message: 'Incorrect username or password.' });
      }
      // Four failures lock nothing.
      await expect(signIn('doubling', 'Right-Pass-1')).resolves.toHaveProperty('AuthenticationResult.AccessToken');
      for (let attempt = 0; attempt < 5; attempt++) {
        await expect(signIn('doubling', 'Wrong-Pass-1')).rejects.toMatchObject({ message: 'Incorrect username or password.' });
      }
      clock += 999;
      await expect(signIn('doubling', 'Right-Pass-1')).rejects.toMatchObject(lockedOut);
      clock += 1;
      await expect(signIn('doubling', 'Wrong-Pass-1')).rejects.toMatchObject({ message: 'Incorrect username or password.' });
      clock += 1_999;
      await expect(signIn('doubling', 'Right-Pass-1')).rejects.toMatchObject(lockedOut);
      clock += 1;
      await expect(signIn('doubling', 'Right-Pass-1')).resolves.toHaveProperty('AuthenticationResult.AccessToken');
      // A success resets the count: one more failure does not lock.
      await expect(signIn('doubling', 'Wrong-Pass-1')).rejects.toMatchObject({ message: 'Incorrect username or password.' });
      await expect(signIn('doubling', 'Right-Pass-1')).resolves.toHaveProperty('AuthenticationResult.AccessToken');
    } finally {
      clock = started;
    }
  });

  it('locks an unknown username out the same way, so a lockout reveals nothing about who exists', async () => {
    const started = clock;
    try {
      for (let attempt = 0; attempt < 5; attempt++) await expect(signIn('ghost', 'Wrong-Pass-1')).rejects.toMatchObject({ name: 'NotAuthorizedException' });
      await expect(signIn('ghost', 'Wrong-Pass-1')).rejects.toMatchObject(lockedOut);
      await expect(signIn('GHOST', 'Wrong-Pass-1')).rejects.toMatchObject(lockedOut);
    } finally {
      clock = started + LOCKOUT_MAX_MS + 1;
    }
  });
});

describe('case-insensitive usernames (signInCaseSensitive: false, as the stack)', () => {
  it('signs a user in by any spelling of the username, finds it by any spelling, and keeps it as created', async () => {
    await cognito.createUser({ username: 'Mixed.Case@Acme.test', password: 'Mixed-Pass-1', attributes: { 'custom:tenant_id': 'acme' } });
    const { AuthenticationResult: result } = await signIn('mixed.case@acme.test', 'Mixed-Pass-1');
    expect((await verify(result?.AccessToken)).username).toBe('Mixed.Case@Acme.test');
    const user = await admin.send(new AdminGetUserCommand({ UserPoolId: USER_POOL_ID, Username: 'MIXED.CASE@ACME.TEST' }));
    expect(user.Username).toBe('Mixed.Case@Acme.test');
  });

  it('refuses a second user whose name differs only by case', async () => {
    await admin.send(new AdminCreateUserCommand({ UserPoolId: USER_POOL_ID, Username: 'Twin@acme.test', TemporaryPassword: 'Twin-Pass-12' }));
    await expect(admin.send(new AdminCreateUserCommand({ UserPoolId: USER_POOL_ID, Username: 'twin@ACME.test', TemporaryPassword: 'Twin-Pass-12' }))).rejects.toMatchObject({
      name: 'UsernameExistsException',
    });
  });
});

describe('hostile member names', () => {
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('treats an AuthParameters member named %s as an unknown name, never a 500', async (name) => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSCognitoIdentityProviderService.InitiateAuth' },
      body: `{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"${CLIENT_ID}","AuthParameters":{"${name}":"x","PASSWORD":"y"}}`,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'InvalidParameterException', message: 'Missing required parameter USERNAME' });
  });
});
