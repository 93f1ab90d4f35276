import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalCognito, type CognitoSnapshot, type LocalCognito, type LocalCognitoOptions } from './cognito-idp.js';
import { fakeAuthenticate } from './test-credentials.js';

const CLIENT_ID = 'local-web-client';
let server: Server;
let endpoint: string;
/** The pool the server answers for at the moment: the first run's, then the restored one. */
let current: LocalCognito;

const poolOptions = (extra: Partial<LocalCognitoOptions> = {}): LocalCognitoOptions => ({
  userPoolId: 'us-east-1_CellbookT',
  clientId: CLIENT_ID,
  issuerBaseUrl: endpoint,
  authenticate: fakeAuthenticate(() => undefined),
  authorize: async () => ({ allowed: false, reason: 'no admin calls here' }),
  groups: ['admin', 'user'],
  ...extra,
});

const publicClient = () => new CognitoIdentityProviderClient({ endpoint, region: 'us-east-1', maxAttempts: 1 });
const passwordAuth = (username: string, password: string) =>
  publicClient().send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: CLIENT_ID, AuthParameters: { USERNAME: username, PASSWORD: password } }));
/** Verifies against the JWKS the pool serves now, as an authorizer fetching it after a restart would. */
const verify = async (token: string) => {
  const jwks = (await (await fetch(current.jwksUrl)).json()) as Parameters<typeof createLocalJWKSet>[0];
  return (await jwtVerify(token, createLocalJWKSet(jwks), { issuer: current.issuer })).payload;
};

beforeAll(async () => {
  server = createServer((req, res) => current.listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('a user pool restored from its snapshot (npm start restarted on kept data)', () => {
  let before: { accessToken: string; refreshToken: string; snapshot: CognitoSnapshot; changes: number };

  beforeAll(async () => {
    let changes = 0;
    current = await createLocalCognito(poolOptions({ onChange: () => void changes++ }));
    await current.createUser({ username: 'ada', password: 'Chosen-Pass1', attributes: { email: 'ada@example.com', 'custom:tenant_id': 't-1' }, groups: ['admin'] });
    const signedIn = await passwordAuth('ada', 'Chosen-Pass1');
    // Through JSON, as the platform writes it to disk.
    const snapshot = JSON.parse(JSON.stringify(current.snapshot())) as CognitoSnapshot;
    before = { accessToken: signedIn.AuthenticationResult!.AccessToken!, refreshToken: signedIn.AuthenticationResult!.RefreshToken!, snapshot, changes };
    current = await createLocalCognito(poolOptions({ restore: snapshot }));
  });

  it('tells the platform of each change, so it saves the pool (a user created, a sign-in’s refresh token)', () => {
    expect(before.changes).toBeGreaterThanOrEqual(2);
  });

  it('still verifies the access token it issued before, with the same signing key', async () => {
    expect(await verify(before.accessToken)).toMatchObject({ username: 'ada', tenant_id: 't-1', 'cognito:groups': ['admin'] });
  });

  it('signs the user in with the same password, and refuses another', async () => {
    const signedIn = await passwordAuth('ada', 'Chosen-Pass1');
    expect(await verify(signedIn.AuthenticationResult!.AccessToken!)).toMatchObject({ username: 'ada', tenant_id: 't-1', roles: ['admin'] });
    await expect(passwordAuth('ada', 'Other-Pass1')).rejects.toMatchObject({ name: 'NotAuthorizedException' });
  });

  it('accepts the refresh token it issued before', async () => {
    const refreshed = await publicClient().send(
      new InitiateAuthCommand({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: CLIENT_ID, AuthParameters: { REFRESH_TOKEN: before.refreshToken } }),
    );
    expect(await verify(refreshed.AuthenticationResult!.AccessToken!)).toMatchObject({ username: 'ada' });
  });

  it('saves password hashes, never a password', () => {
    const text = JSON.stringify(before.snapshot);
    expect(text).not.toContain('Chosen-Pass1');
    expect(before.snapshot.signingKey).toMatchObject({ kty: 'RSA', d: expect.any(String) });
  });
});
