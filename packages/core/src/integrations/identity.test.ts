// Mocked SDK client: the local Cognito stand-in exists, but these tests pin the exact Cognito calls and error handling (UsernameExists, UserNotFound, RESEND) that a stand-in can only approximate.
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
  NotAuthorizedException,
  UserNotFoundException,
  UsernameExistsException,
  type AdminGetUserCommandOutput,
  type UserStatusType,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidGrant, UserAlreadyExists } from '../shared/errors.js';
import { createTenantUser, deleteUser, ensureTenantUser, getUser, refresh, resetPassword, setRole, signOutEverywhere } from './identity.js';

const cognito = mockClient(CognitoIdentityProviderClient);
const POOL = 'us-east-1_Test';
const saved = {
  USER_POOL_ID: process.env.USER_POOL_ID,
  INVITATION_DELIVERY: process.env.INVITATION_DELIVERY,
  USER_POOL_CLIENT_ID: process.env.USER_POOL_CLIENT_ID,
  OPERATOR_POOL_CLIENT_ID: process.env.OPERATOR_POOL_CLIENT_ID,
};

const meta = { $metadata: {} };
const SUB = '7d4f0c1e-0000-4000-8000-000000000001';
const usernameExists = () => new UsernameExistsException({ message: 'User account already exists', ...meta });
const userNotFound = () => new UserNotFoundException({ message: 'User does not exist.', ...meta });

function stored(tenantId: string | undefined, status: UserStatusType, enabled = true): Partial<AdminGetUserCommandOutput> {
  return {
    Username: 'admin@acme.test',
    UserAttributes: [{ Name: 'sub', Value: SUB }, { Name: 'email', Value: 'admin@acme.test' }, ...(tenantId ? [{ Name: 'custom:tenant_id', Value: tenantId }] : [])],
    UserStatus: status,
    Enabled: enabled,
  };
}

/** Every command sent, in order, as [command name, input]. */
function sent(): [string, Record<string, unknown>][] {
  return cognito.calls().map((call) => {
    const command = call.args[0] as unknown as { constructor: { name: string }; input: Record<string, unknown> };
    return [command.constructor.name, command.input];
  });
}

/** Cognito's default policy and ours: 12+ characters with every class. */
const POLICY_PASSWORD = /^(?=.*[A-Z])(?=.*[a-z])(?=.*[0-9])(?=.*[^A-Za-z0-9]).{16}$/;

const input = { tenantId: 'acme', email: 'Admin@Acme.test', role: 'admin' as const };

beforeEach(() => {
  cognito.reset();
  process.env.USER_POOL_ID = POOL;
  process.env.INVITATION_DELIVERY = 'response';
  process.env.USER_POOL_CLIENT_ID = 'tenant-client';
  process.env.OPERATOR_POOL_CLIENT_ID = 'operator-client';
});

afterAll(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('Identity.getUser', () => {
  it('reads the user, its tenant binding, status and whether it is enabled', async () => {
    cognito.on(AdminGetUserCommand).resolves(stored('acme', 'FORCE_CHANGE_PASSWORD'));
    await expect(getUser('Admin@Acme.test')).resolves.toEqual({
      username: 'admin@acme.test',
      sub: SUB,
      tenantId: 'acme',
      status: 'FORCE_CHANGE_PASSWORD',
      enabled: true,
    });
    expect(sent()).toEqual([['AdminGetUserCommand', { UserPoolId: POOL, Username: 'admin@acme.test' }]]);
  });

  it('leaves tenantId out for a user bound to no tenant (an operator)', async () => {
    cognito.on(AdminGetUserCommand).resolves(stored(undefined, 'CONFIRMED', false));
    const user = await getUser('operator');
    expect(user).toEqual({ username: 'admin@acme.test', sub: SUB, status: 'CONFIRMED', enabled: false });
    expect(user).not.toHaveProperty('tenantId');
  });

  it('answers undefined for a user that does not exist', async () => {
    cognito.on(AdminGetUserCommand).rejects(userNotFound());
    await expect(getUser('ghost@acme.test')).resolves.toBeUndefined();
  });
});

describe('Identity.ensureTenantUser', () => {
  it('creates a user bound to the tenant with a one-time password and adds it to its role group', async () => {
    cognito.on(AdminCreateUserCommand).resolves({});
    cognito.on(AdminAddUserToGroupCommand).resolves({});
    const user = await ensureTenantUser(input);
    expect(user).toEqual({ username: 'admin@acme.test', temporaryPassword: expect.stringMatching(POLICY_PASSWORD) });
    expect(sent()).toEqual([
      [
        'AdminCreateUserCommand',
        {
          UserPoolId: POOL,
          Username: 'admin@acme.test',
          UserAttributes: [
            { Name: 'email', Value: 'admin@acme.test' },
            { Name: 'email_verified', Value: 'true' },
            { Name: 'custom:tenant_id', Value: 'acme' },
          ],
          TemporaryPassword: user.temporaryPassword,
          MessageAction: 'SUPPRESS',
        },
      ],
      ['AdminAddUserToGroupCommand', { UserPoolId: POOL, Username: 'admin@acme.test', GroupName: 'admin' }],
    ]);
  });

  it('lets Cognito mail the invitation when delivery is by email, and returns no password', async () => {
    process.env.INVITATION_DELIVERY = 'email';
    cognito.on(AdminCreateUserCommand).resolves({});
    cognito.on(AdminAddUserToGroupCommand).resolves({});
    await expect(ensureTenantUser(input)).resolves.toEqual({ username: 'admin@acme.test' });
    const [create] = cognito.commandCalls(AdminCreateUserCommand);
    expect(create!.args[0].input).toMatchObject({ DesiredDeliveryMediums: ['EMAIL'] });
    expect(create!.args[0].input).not.toHaveProperty('TemporaryPassword');
    expect(create!.args[0].input).not.toHaveProperty('MessageAction');
  });

  it('gives the never-delivered user of a crashed attempt a fresh temporary password instead of failing', async () => {
    cognito.on(AdminCreateUserCommand).rejects(usernameExists());
    cognito.on(AdminGetUserCommand).resolves(stored('acme', 'FORCE_CHANGE_PASSWORD'));
    cognito.on(AdminSetUserPasswordCommand).resolves({});
    cognito.on(AdminAddUserToGroupCommand).resolves({});
    const user = await ensureTenantUser(input);
    expect(user).toEqual({ username: 'admin@acme.test', temporaryPassword: expect.stringMatching(POLICY_PASSWORD) });
    const attempted = cognito.commandCalls(AdminCreateUserCommand)[0]!.args[0].input.TemporaryPassword;
    expect(user.temporaryPassword).not.toBe(attempted);
    expect(sent().map(([name]) => name)).toEqual(['AdminCreateUserCommand', 'AdminGetUserCommand', 'AdminSetUserPasswordCommand', 'AdminAddUserToGroupCommand']);
    expect(cognito.commandCalls(AdminSetUserPasswordCommand)[0]!.args[0].input).toEqual({
      UserPoolId: POOL,
      Username: 'admin@acme.test',
      Password: user.temporaryPassword,
      Permanent: false,
    });
  });

  it('re-sends the invitation (RESEND) for such a user when delivery is by email', async () => {
    process.env.INVITATION_DELIVERY = 'email';
    cognito.on(AdminCreateUserCommand).callsFake((sentInput: { MessageAction?: string }) => {
      if (sentInput.MessageAction === 'RESEND') return {};
      throw usernameExists();
    });
    cognito.on(AdminGetUserCommand).resolves(stored('acme', 'FORCE_CHANGE_PASSWORD'));
    cognito.on(AdminAddUserToGroupCommand).resolves({});
    await expect(ensureTenantUser(input)).resolves.toEqual({ username: 'admin@acme.test' });
    expect(
      cognito
        .commandCalls(AdminCreateUserCommand)
        .map((call) => call.args[0].input)
        .at(-1),
    ).toEqual({
      UserPoolId: POOL,
      Username: 'admin@acme.test',
      MessageAction: 'RESEND',
      DesiredDeliveryMediums: ['EMAIL'],
    });
    expect(cognito.commandCalls(AdminSetUserPasswordCommand)).toEqual([]);
    expect(cognito.commandCalls(AdminAddUserToGroupCommand)).toHaveLength(1);
  });

  it("refuses an email that belongs to another tenant's user, touching nothing", async () => {
    cognito.on(AdminCreateUserCommand).rejects(usernameExists());
    cognito.on(AdminGetUserCommand).resolves(stored('globex', 'FORCE_CHANGE_PASSWORD'));
    await expect(ensureTenantUser(input)).rejects.toBeInstanceOf(UserAlreadyExists);
    expect(sent().map(([name]) => name)).toEqual(['AdminCreateUserCommand', 'AdminGetUserCommand']);
  });

  it('refuses a user of the same tenant who has already signed in (CONFIRMED): their password is theirs', async () => {
    cognito.on(AdminCreateUserCommand).rejects(usernameExists());
    cognito.on(AdminGetUserCommand).resolves(stored('acme', 'CONFIRMED'));
    await expect(ensureTenantUser(input)).rejects.toBeInstanceOf(UserAlreadyExists);
    expect(cognito.commandCalls(AdminSetUserPasswordCommand)).toEqual([]);
    expect(cognito.commandCalls(AdminAddUserToGroupCommand)).toEqual([]);
  });

  it('refuses an operator account (no tenant) with the same name', async () => {
    cognito.on(AdminCreateUserCommand).rejects(usernameExists());
    cognito.on(AdminGetUserCommand).resolves(stored(undefined, 'FORCE_CHANGE_PASSWORD'));
    await expect(ensureTenantUser(input)).rejects.toBeInstanceOf(UserAlreadyExists);
  });

  it('creates the user after all when the existing one vanished before it could be read', async () => {
    cognito.on(AdminCreateUserCommand).rejectsOnce(usernameExists()).resolves({});
    cognito.on(AdminGetUserCommand).rejects(userNotFound());
    cognito.on(AdminAddUserToGroupCommand).resolves({});
    await expect(ensureTenantUser(input)).resolves.toMatchObject({ username: 'admin@acme.test', temporaryPassword: expect.any(String) });
    expect(cognito.commandCalls(AdminCreateUserCommand)).toHaveLength(2);
  });
});

describe('Identity.createTenantUser', () => {
  it('maps UsernameExistsException to UserAlreadyExists without looking at the existing user', async () => {
    cognito.on(AdminCreateUserCommand).rejects(usernameExists());
    await expect(createTenantUser(input)).rejects.toBeInstanceOf(UserAlreadyExists);
    expect(sent().map(([name]) => name)).toEqual(['AdminCreateUserCommand']);
  });
});

describe('Identity.deleteUser', () => {
  it('deletes the user, and treats a user already gone as deleted', async () => {
    cognito.on(AdminDeleteUserCommand).resolvesOnce({}).rejects(userNotFound());
    await deleteUser('admin@acme.test');
    await expect(deleteUser('admin@acme.test')).resolves.toBeUndefined();
    expect(sent()[0]).toEqual(['AdminDeleteUserCommand', { UserPoolId: POOL, Username: 'admin@acme.test' }]);
  });
});

describe('Identity.signOutEverywhere', () => {
  it("revokes the user's sessions with a global sign-out", async () => {
    cognito.on(AdminUserGlobalSignOutCommand).resolves({});
    await signOutEverywhere('admin@acme.test');
    expect(sent()).toEqual([['AdminUserGlobalSignOutCommand', { UserPoolId: POOL, Username: 'admin@acme.test' }]]);
  });

  it('treats a user already deleted as signed out', async () => {
    cognito.on(AdminUserGlobalSignOutCommand).rejects(userNotFound());
    await expect(signOutEverywhere('admin@acme.test')).resolves.toBeUndefined();
  });

  it('passes other failures through', async () => {
    cognito.on(AdminUserGlobalSignOutCommand).rejects(new Error('throttled'));
    await expect(signOutEverywhere('admin@acme.test')).rejects.toThrow('throttled');
  });
});

describe('Identity.setRole', () => {
  it('puts the user in the new role’s group, then out of the other role’s (each step a no-op when done)', async () => {
    cognito.on(AdminAddUserToGroupCommand).resolves({});
    cognito.on(AdminRemoveUserFromGroupCommand).resolves({});
    await setRole('agent@acme.test', 'user');
    expect(sent()).toEqual([
      ['AdminAddUserToGroupCommand', { UserPoolId: POOL, Username: 'agent@acme.test', GroupName: 'user' }],
      ['AdminRemoveUserFromGroupCommand', { UserPoolId: POOL, Username: 'agent@acme.test', GroupName: 'admin' }],
    ]);
  });
});

describe('Identity.resetPassword', () => {
  const user = (status: string) => ({ username: 'agent@acme.test', sub: SUB, tenantId: 'acme', status, enabled: true });

  it('re-sends the invitation of a user who never signed in (e-mail delivery: Cognito mails a new temporary password)', async () => {
    process.env.INVITATION_DELIVERY = 'email';
    cognito.on(AdminCreateUserCommand).resolves({});
    await expect(resetPassword(user('FORCE_CHANGE_PASSWORD'))).resolves.toEqual({ username: 'agent@acme.test', kind: 'invitation-resent' });
    expect(sent()).toEqual([['AdminCreateUserCommand', { UserPoolId: POOL, Username: 'agent@acme.test', MessageAction: 'RESEND', DesiredDeliveryMediums: ['EMAIL'] }]]);
  });

  it('makes the password of a user who signed in temporary again, then re-sends the invitation (e-mail delivery)', async () => {
    process.env.INVITATION_DELIVERY = 'email';
    cognito.on(AdminSetUserPasswordCommand).resolves({});
    cognito.on(AdminCreateUserCommand).resolves({});
    await expect(resetPassword(user('CONFIRMED'))).resolves.toEqual({ username: 'agent@acme.test', kind: 'password-reset' });
    const [setPassword, resend] = sent();
    expect(setPassword).toEqual([
      'AdminSetUserPasswordCommand',
      { UserPoolId: POOL, Username: 'agent@acme.test', Password: expect.stringMatching(POLICY_PASSWORD), Permanent: false },
    ]);
    expect(resend?.[1]).toMatchObject({ MessageAction: 'RESEND' });
  });

  it('returns the new temporary password with response delivery (local), and sends nothing', async () => {
    cognito.on(AdminSetUserPasswordCommand).resolves({});
    const reset = await resetPassword(user('CONFIRMED'));
    expect(reset).toEqual({ username: 'agent@acme.test', kind: 'password-reset', temporaryPassword: expect.stringMatching(POLICY_PASSWORD) });
    expect(sent().map(([name]) => name)).toEqual(['AdminSetUserPasswordCommand']);
  });
});

describe('Identity.refresh', () => {
  const invalid = () => new NotAuthorizedException({ message: 'Invalid Refresh Token', ...meta });

  it('trades a tenant user’s refresh token with the tenant directory’s client (REFRESH_TOKEN_AUTH)', async () => {
    cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: { AccessToken: 'new-access', ExpiresIn: 3600 } });
    await expect(refresh('rt')).resolves.toEqual({ accessToken: 'new-access', expiresIn: 3600, tokenType: 'Bearer' });
    expect(sent()).toEqual([['InitiateAuthCommand', { AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: 'tenant-client', AuthParameters: { REFRESH_TOKEN: 'rt' } }]]);
  });

  it('tries the operator directory when the tenant directory does not know the token', async () => {
    cognito.on(InitiateAuthCommand, { ClientId: 'tenant-client' }).rejects(invalid());
    cognito.on(InitiateAuthCommand, { ClientId: 'operator-client' }).resolves({ AuthenticationResult: { AccessToken: 'operator-access', ExpiresIn: 3600 } });
    await expect(refresh('rt')).resolves.toMatchObject({ accessToken: 'operator-access' });
  });

  it('answers InvalidGrant when neither directory accepts it (unknown, expired, revoked)', async () => {
    cognito.on(InitiateAuthCommand).rejects(invalid());
    await expect(refresh('rt')).rejects.toBeInstanceOf(InvalidGrant);
  });
});
