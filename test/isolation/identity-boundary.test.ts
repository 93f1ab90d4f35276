import { Sha256 } from '@aws-crypto/sha256-js';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminGetUserCommand,
  CognitoIdentityProviderClient,
} from '@aws-sdk/client-cognito-identity-provider';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { SignatureV4 } from '@smithy/signature-v4';
import { TENANT_TAG_KEY } from '@cellbook/core/access/tenant-access-policy';
import { TenantTableProvider } from '@cellbook/core/tenancy/tenant-table';
import { sdkCredentials } from '@cellbook/local/aws/local-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTestPlatform, type TestPlatform, type TestTenant } from '../support/platform.js';
import { onboardNeighbours } from './neighbours.fixture.js';

/**
 * The identity boundary (DESIGN §13, issue 12 item 6), attacked as a compromised cell would: code
 * running in cell A's API functions with that function's own credentials, and with any tenant
 * session it can mint from them. It must reach only cell A's own tenants' users, never the
 * operator directory, never another cell's tenants.
 */
let env: TestPlatform;
/** In the compromised cell. */
let alice: TestTenant;
/** Same cell as alice. */
let bob: TestTenant;
/** In the other cell. */
let carol: TestTenant;

beforeAll(async () => {
  env = await bootTestPlatform();
  ({ alice, bob, carol } = await onboardNeighbours(env, 'standard'));
}, 120_000);
afterAll(() => env?.stop());

const cellOf = (tenant: TestTenant) => env.platform.cells.find((cell) => cell.cellId === tenant.cellId)!;

/** The compromised cell's API function credentials, as Lambda hands them to the function. */
function apiFunctionCredentials(tenant: TestTenant): AwsCredentialIdentity {
  return sdkCredentials(env.platform.sessionFor(cellOf(tenant).roles.api));
}

function cognitoAs(credentials: AwsCredentialIdentity): CognitoIdentityProviderClient {
  return new CognitoIdentityProviderClient({ region: env.platform.region, endpoint: env.platform.endpoints.cognito, credentials });
}

/** A tenant session minted from the compromised cell's own role, tagged with any tenant it likes. */
function tenantSession(cellOfCaller: TestTenant, taggedTenantId: string): Promise<AwsCredentialIdentity> {
  const cell = cellOf(cellOfCaller);
  const sts = new STSClient({ region: env.platform.region, endpoint: env.platform.endpoints.sts, credentials: apiFunctionCredentials(cellOfCaller) });
  return new TenantTableProvider({ roleArn: cell.roles.tenantAccess, tableName: cell.tableName, sts }).credentialsFor(taggedTenantId);
}

/** A SigV4-signed call to the control plane's API, as the cell's broker client makes it. */
async function signedCall(credentials: AwsCredentialIdentity, method: string, path: string, body?: unknown) {
  const url = new URL(path, env.platform.controlPlaneUrl);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const signer = new SignatureV4({ service: 'execute-api', region: env.platform.region, credentials, sha256: Sha256 });
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: {},
    headers: { host: url.host, ...(payload ? { 'content-type': 'application/json' } : {}) },
    ...(payload ? { body: payload } : {}),
  });
  const { host: _host, ...headers } = signed.headers;
  const response = await fetch(url, { method, headers, ...(payload ? { body: payload } : {}) });
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: test ergonomics — an IAM document or JSON body read field by field at any depth, where a missing field fails the assertion anyway.
  return { status: response.status, body: text ? (JSON.parse(text) as any) : null };
}

const invite = (credentials: AwsCredentialIdentity, pathTenant: string, body: unknown) => signedCall(credentials, 'POST', `/broker/tenants/${pathTenant}/users`, body);
const remove = (credentials: AwsCredentialIdentity, pathTenant: string, username: string) =>
  signedCall(credentials, 'DELETE', `/broker/tenants/${pathTenant}/users/${encodeURIComponent(username)}`);

/** API Gateway's own refusal: IAM denied the call before the broker ran. */
const REFUSED_BY_IAM = { status: 403, body: { message: 'Forbidden' } };

async function stillSignsIn(tenant: TestTenant): Promise<void> {
  expect((await env.call('POST', '/auth/token', { body: { username: tenant.username, password: tenant.password } })).status).toBe(200);
}

describe('a tenant admin invites a user (the control for everything below)', () => {
  it('invites through POST /users, and the new user signs in with the role they were given, in their tenant', async () => {
    const invited = await alice.call('POST', '/users', { body: { email: 'new-agent@example.com', role: 'user' } });
    expect(invited.status).toBe(201);
    expect(invited.body).toMatchObject({ username: 'new-agent@example.com', role: 'user' });
    const token = await env.signIn('new-agent@example.com', invited.body.temporaryPassword, 'Agent-Chosen-Pass1');
    const me = await env.call('GET', '/me', { token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ tenantId: alice.tenantId, roles: ['user'] });
  });

  it('lets a cell’s tenant session invite into its own tenant through the broker', async () => {
    const created = await invite(await tenantSession(alice, alice.tenantId), alice.tenantId, { email: 'via-broker@example.com', role: 'user' });
    expect(created.status).toBe(201);
    expect(created.body.username).toBe('via-broker@example.com');
    expect((await remove(await tenantSession(alice, alice.tenantId), alice.tenantId, 'via-broker@example.com')).status).toBe(204);
  });
});

describe('a compromised cell function, with its own credentials', () => {
  it('cannot create, change or delete any user in the tenant directory directly', async () => {
    const cognito = cognitoAs(apiFunctionCredentials(alice));
    const UserPoolId = env.platform.cognito.userPoolId;
    const denied = { name: 'AccessDeniedException' };
    await expect(
      cognito.send(
        new AdminCreateUserCommand({
          UserPoolId,
          Username: 'intruder@example.com',
          UserAttributes: [{ Name: 'custom:tenant_id', Value: alice.tenantId }],
          MessageAction: 'SUPPRESS',
        }),
      ),
    ).rejects.toMatchObject(denied);
    await expect(cognito.send(new AdminAddUserToGroupCommand({ UserPoolId, Username: alice.username, GroupName: 'admin' }))).rejects.toMatchObject(denied);
    await expect(cognito.send(new AdminDeleteUserCommand({ UserPoolId, Username: carol.username }))).rejects.toMatchObject(denied);
    await expect(cognito.send(new AdminDeleteUserCommand({ UserPoolId, Username: bob.username }))).rejects.toMatchObject(denied);
    await expect(cognito.send(new AdminGetUserCommand({ UserPoolId, Username: carol.username }))).rejects.toMatchObject(denied);
    await stillSignsIn(carol);
    await stillSignsIn(bob);
  });

  it('cannot create a user in the operator directory or add anyone to the operator group', async () => {
    const UserPoolId = env.platform.operatorCognito.userPoolId;
    const denied = { name: 'AccessDeniedException' };
    for (const credentials of [apiFunctionCredentials(alice), await tenantSession(alice, alice.tenantId)]) {
      const cognito = cognitoAs(credentials);
      await expect(
        cognito.send(new AdminCreateUserCommand({ UserPoolId, Username: 'evil-operator', TemporaryPassword: 'Evil-Operator-1', MessageAction: 'SUPPRESS' })),
      ).rejects.toMatchObject(denied);
      await expect(cognito.send(new AdminAddUserToGroupCommand({ UserPoolId, Username: 'operator', GroupName: 'operator' }))).rejects.toMatchObject(denied);
      await expect(cognito.send(new AdminAddUserToGroupCommand({ UserPoolId, Username: alice.username, GroupName: 'operator' }))).rejects.toMatchObject(denied);
    }
    // The tenant directory has no operator group at all: operators are another pool.
    const byBroker = await invite(await tenantSession(alice, alice.tenantId), alice.tenantId, { email: 'wannabe@example.com', role: 'operator' });
    expect(byBroker.status).toBe(422);
    expect((await env.call('POST', '/auth/token', { body: { username: 'evil-operator', password: 'Evil-Operator-1' } })).status).toBe(401);
  });

  it('cannot invoke the identity broker with the function role itself, only with a tenant session', async () => {
    const response = await invite(apiFunctionCredentials(alice), alice.tenantId, { email: 'no-session@example.com', role: 'admin' });
    expect(response).toEqual(REFUSED_BY_IAM);
  });

  it('cannot reach another tenant of its own cell through the broker: IAM fences the path to the session’s tenant', async () => {
    const aliceSession = await tenantSession(alice, alice.tenantId);
    expect(await invite(aliceSession, bob.tenantId, { email: 'planted@example.com', role: 'admin' })).toEqual(REFUSED_BY_IAM);
    expect(await remove(aliceSession, bob.tenantId, bob.username)).toEqual(REFUSED_BY_IAM);
    await stillSignsIn(bob);
    expect((await env.call('POST', '/auth/token', { body: { username: 'planted@example.com', password: 'x' } })).status).toBe(401);
  });

  it('cannot touch a tenant of another cell, even with a session it tagged with that tenant', async () => {
    // The cell's role may tag its tenant session with any tenant id: IAM then lets it call the
    // broker for that tenant, and only the broker's placement check stands in the way.
    const forged = await tenantSession(alice, carol.tenantId);
    const planted = await invite(forged, carol.tenantId, { email: 'planted-in-carol@example.com', role: 'admin' });
    expect(planted.status).toBe(403);
    expect(planted.body.error.code).toBe('FORBIDDEN');
    const removal = await remove(forged, carol.tenantId, carol.username);
    expect(removal.status).toBe(403);
    expect(removal.body.error.code).toBe('FORBIDDEN');
    await stillSignsIn(carol);
  });

  it('cannot delete a user of another tenant by naming it under its own tenant', async () => {
    const aliceSession = await tenantSession(alice, alice.tenantId);
    for (const victim of [bob, carol]) {
      const response = await remove(aliceSession, alice.tenantId, victim.username);
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('USER_NOT_FOUND');
      await stillSignsIn(victim);
    }
    // Nor the operator, who is not in this directory at all (gone is done: nothing to delete).
    expect((await remove(aliceSession, alice.tenantId, 'operator')).status).toBe(204);
    expect((await env.call('GET', '/admin/tenants', { token: env.operatorToken })).status).toBe(200);
  });

  it('takes the tenant from the session, never from the body', async () => {
    const response = await invite(await tenantSession(alice, alice.tenantId), alice.tenantId, {
      email: 'smuggled@example.com',
      role: 'user',
      tenantId: bob.tenantId,
    });
    expect(response.status).toBe(422);
  });

  it('refuses a session whose name does not match its tenant, and a tenant that is not active', async () => {
    const cell = cellOf(alice);
    const sts = new STSClient({ region: env.platform.region, endpoint: env.platform.endpoints.sts, credentials: apiFunctionCredentials(alice) });
    const { Credentials } = await sts.send(
      new AssumeRoleCommand({ RoleArn: cell.roles.tenantAccess, RoleSessionName: `tenant-${bob.tenantId}`, Tags: [{ Key: TENANT_TAG_KEY, Value: alice.tenantId }] }),
    );
    const misnamed = { accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretAccessKey!, sessionToken: Credentials!.SessionToken! };
    const refused = await invite(misnamed, alice.tenantId, { email: 'misnamed@example.com', role: 'user' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');

    const dave = await env.onboard('standard');
    expect((await env.call('POST', `/admin/tenants/${dave.tenantId}/suspend`, { token: env.operatorToken })).status).toBe(200);
    const daveCellTenant = env.platform.cells.find((candidate) => candidate.cellId === dave.cellId)!;
    const sts2 = new STSClient({
      region: env.platform.region,
      endpoint: env.platform.endpoints.sts,
      credentials: sdkCredentials(env.platform.sessionFor(daveCellTenant.roles.api)),
    });
    const daveSession = await new TenantTableProvider({ roleArn: daveCellTenant.roles.tenantAccess, tableName: daveCellTenant.tableName, sts: sts2 }).credentialsFor(
      dave.tenantId,
    );
    const suspended = await invite(daveSession, dave.tenantId, { email: 'while-suspended@example.com', role: 'admin' });
    expect(suspended.status).toBe(403);
    expect(suspended.body.error.code).toBe('FORBIDDEN');
  });
});

describe('the broker’s user management routes (remove, role, sign-out, reset), attacked the same way', () => {
  const actions = (credentials: AwsCredentialIdentity, pathTenant: string, username: string) => {
    const path = `/broker/tenants/${pathTenant}/users/${encodeURIComponent(username)}`;
    return Promise.all([
      signedCall(credentials, 'PATCH', path, { role: 'user' }),
      signedCall(credentials, 'POST', `${path}/sign-out`),
      signedCall(credentials, 'POST', `${path}/reset-password`),
      signedCall(credentials, 'DELETE', path),
    ]);
  };

  /** The victim is untouched: still signs in with their password, still an admin of their tenant. */
  async function untouched(victim: TestTenant): Promise<void> {
    const signedIn = await env.call('POST', '/auth/token', { body: { username: victim.username, password: victim.password } });
    expect(signedIn.status).toBe(200);
    const me = await env.call('GET', '/me', { token: victim.token });
    expect(me.body).toMatchObject({ tenantId: victim.tenantId, roles: ['admin'] });
  }

  it('lets the function role itself call none of them', async () => {
    for (const response of await actions(apiFunctionCredentials(alice), alice.tenantId, alice.username)) expect(response).toEqual(REFUSED_BY_IAM);
    await untouched(alice);
  });

  it('lets a tenant session call none of them on another tenant’s path (IAM refuses before the broker runs)', async () => {
    const aliceSession = await tenantSession(alice, alice.tenantId);
    for (const response of await actions(aliceSession, bob.tenantId, bob.username)) expect(response).toEqual(REFUSED_BY_IAM);
    await untouched(bob);
  });

  it('refuses a session a cell tagged with a tenant of another cell (403 FORBIDDEN from the broker)', async () => {
    const forged = await tenantSession(alice, carol.tenantId);
    for (const response of await actions(forged, carol.tenantId, carol.username)) {
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe('FORBIDDEN');
    }
    await untouched(carol);
  });

  it('answers 404 USER_NOT_FOUND for another tenant’s user named under the session’s own tenant', async () => {
    const aliceSession = await tenantSession(alice, alice.tenantId);
    for (const victim of [bob, carol]) {
      const [role, signOut, reset] = await actions(aliceSession, alice.tenantId, victim.username);
      for (const response of [role, signOut, reset]) {
        expect(response?.status).toBe(404);
        expect(response?.body.error.code).toBe('USER_NOT_FOUND');
      }
      await untouched(victim);
    }
  });
});

describe('two directories, two planes', () => {
  function claimsOf(token: string): Record<string, unknown> {
    const { iss: _iss, iat: _iat, exp: _exp, jti: _jti, ...claims } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    return claims;
  }

  it('refuses on the control plane a tenant-directory token that claims the operator role', async () => {
    const { tenant_id: _tenant, ...claims } = claimsOf(alice.token);
    // A token the tenant directory really could issue (its own app client) had its user been put
    // in an `operator` group: which directory signed it is what decides.
    const forged = await env.platform.cognito.mintToken({ ...claims, roles: ['operator'], 'cognito:groups': ['operator'] });
    const response = await env.call('GET', '/admin/tenants', { token: forged });
    expect([401, 403]).toContain(response.status);
    // The same claims signed by the operator directory are an operator (the control for the refusal).
    const genuine = await env.platform.operatorCognito.mintToken({ ...claimsOf(env.operatorToken) });
    expect((await env.call('GET', '/admin/tenants', { token: genuine })).status).toBe(200);
  });

  it('refuses on the data plane an operator-directory token, even one naming a tenant', async () => {
    // A token the operator directory really could issue (its own app client), naming a tenant.
    const forged = await env.platform.operatorCognito.mintToken({
      ...claimsOf(alice.token),
      client_id: claimsOf(env.operatorToken).client_id,
      roles: ['admin'],
    });
    expect((await env.call('GET', '/me', { token: forged })).status).toBe(401);
    expect((await env.call('GET', '/me', { token: alice.token })).status).toBe(200);
  });
});
